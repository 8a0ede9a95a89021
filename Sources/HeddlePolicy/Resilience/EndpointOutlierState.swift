import HeddleCore

/// What an `OutlierDetector` keeps for one endpoint, beside `keys[i]`.
struct EndpointOutlierState: Sendable {
    var consecutiveFailures = 0
    /// Outcomes in the current interval.
    var successes = 0
    var failures = 0
    /// The ejection count that sets the next ejection's length, less the decay.
    var multiplier: Int64 = 0
    /// When the current ejection ends; nil in service.
    var ejectedUntil: Instant?
    /// Ejected at some time since the last evaluation, so no decay at the next one.
    var ejectedThisInterval = false

    /// Counted in a success-rate comparison: in service, with at least `volume` outcomes in
    /// the interval.
    func qualifies(volume: Int) -> Bool {
        ejectedUntil == nil && successes + failures >= volume
    }

    /// The success rate in the interval, in percent; meaningless with no outcomes.
    var successRate: Double {
        Double(successes) * 100 / Double(successes + failures)
    }
}
