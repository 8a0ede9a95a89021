import HeddleCore

/// Success-rate ejection, run at the end of each interval.
extension OutlierDetector {
    /// How far below the threshold a rate must be to count: floating-point noise in the mean
    /// and deviation of equal rates must not eject anyone.
    private static let successRateTolerance = 1e-9

    /// Ejects, worst first and up to the cap, the qualifying endpoints whose success rate is
    /// below `mean − stdevFactor × stdev`, when enough endpoints qualify. Allocates only when
    /// there is an outlier.
    mutating func ejectBySuccessRate(now: Instant) {
        let volume = max(configuration.successRateRequestVolume, 1)
        var count = 0
        var sum = 0.0
        for state in states where state.qualifies(volume: volume) {
            count += 1
            sum += state.successRate
        }
        guard count > 0, count >= configuration.successRateMinimumHosts else { return }
        let mean = sum / Double(count)
        var squares = 0.0
        for state in states where state.qualifies(volume: volume) {
            let deviation = state.successRate - mean
            squares += deviation * deviation
        }
        let threshold = mean - configuration.successRateStdevFactor * (squares / Double(count)).squareRoot()
        var outliers: [(index: Int, rate: Double)] = []
        for index in states.indices where states[index].qualifies(volume: volume) {
            let rate = states[index].successRate
            if threshold - rate > Self.successRateTolerance { outliers.append((index, rate)) }
        }
        guard !outliers.isEmpty else { return }
        outliers.sort { $0.rate < $1.rate || ($0.rate == $1.rate && $0.index < $1.index) }
        for outlier in outliers {
            guard eject(outlier.index, reason: .successRate, now: now) else { return }
        }
    }
}
