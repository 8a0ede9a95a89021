import HeddleCore

/// Passive health checking, after Envoy's outlier detection: endpoints that fail are ejected
/// from load balancing for a while, longer each time they are ejected again.
///
/// - **Consecutive failures.** `recordFailure` for 5xx responses, connect failures and resets;
///   `recordSuccess` for every other response, which also resets the run. The
///   `consecutiveFailures`-th failure in a row ejects the endpoint at once.
/// - **Success rate.** Every `interval`, endpoints with at least `successRateRequestVolume`
///   requests in the interval are compared, provided at least `successRateMinimumHosts` of them
///   qualify: one whose success rate is below `mean − successRateStdevFactor × stdev`
///   (population standard deviation) is ejected, the worst first.
/// - **Ejection time** is `baseEjectionTime × n` for the n-th ejection, at most
///   `maxEjectionTime`. Each whole interval an endpoint spends in service lowers n by one
///   (down to 0), so a recovered endpoint's next ejection is short again.
/// - **Cap.** An endpoint is ejected only while fewer than `maxEjectionPercent` of all
///   endpoints are ejected, counted before the ejection as in Envoy. So the share can end one
///   endpoint above the percentage (two of three at 50 %), and a lone endpoint can be ejected:
///   the caller must still route somewhere when every endpoint is ejected (Envoy's panic mode
///   sends to all of them).
/// - **Return.** An ejected endpoint is out of service until its ejection time is over, to the
///   nanosecond (`isEjected`), not until the next interval as in Envoy; it then comes back with
///   its failure run and interval counts cleared. Outcomes recorded while it is ejected, from
///   requests started before the ejection, are ignored.
///
/// Endpoints are indices into the same `[BalancerEndpoint]` list a `LoadBalancer` has, so
/// `isEjected` drops straight into `LoadBalancer.pick(now:hash:using:isEligible:)`; `update`
/// follows endpoints by key as the balancer's does. Out-of-range indices are ignored.
///
/// `tick(now:)` runs the interval evaluation when it is due and reports every ejection and
/// return since the last tick; call it about once a second (more often only sharpens event
/// timestamps). Recording an outcome, `isEjected` and a tick with nothing due are O(1); they
/// allocate nothing beyond logging an ejection or return for the next tick.
public struct OutlierDetector: Sendable {
    /// The settings, fixed for the detector's life.
    public let configuration: Configuration
    /// The endpoints' keys, in index order.
    public private(set) var keys: [String]
    /// Endpoints ejected and not yet returned. An ejection that has ended counts until the
    /// next call that returns the endpoint (a tick, or an outcome recorded for it).
    public private(set) var ejectedCount = 0

    /// `states[i]` belongs to `keys[i]`.
    var states: [EndpointOutlierState]
    /// Ejections and returns since the last tick, in order.
    private var events: [OutlierEvent] = []
    /// When the next success-rate evaluation is due; nil before the first tick.
    private var nextEvaluation: Instant?
    /// No ejection ends before this (it may be earlier than every end, costing one idle scan);
    /// nil when none is ejected.
    private var nextReturn: Instant?
    private let intervalNanoseconds: Int64
    private let baseEjectionNanoseconds: Int64
    private let maxEjectionNanoseconds: Int64
    /// The largest useful ejection count: the first at which ejections reach the maximum.
    private let maxMultiplier: Int64

    public init(endpoints: [BalancerEndpoint], configuration: Configuration = Configuration()) {
        self.configuration = configuration
        keys = []
        states = []
        intervalNanoseconds = max(configuration.interval.nanosecondsClamped, 1)
        baseEjectionNanoseconds = max(configuration.baseEjectionTime.nanosecondsClamped, 0)
        maxEjectionNanoseconds = max(configuration.maxEjectionTime.nanosecondsClamped, baseEjectionNanoseconds)
        maxMultiplier = baseEjectionNanoseconds == 0
            ? 1
            : (maxEjectionNanoseconds + baseEjectionNanoseconds - 1) / baseEjectionNanoseconds
        update(endpoints: endpoints)
    }

    /// Replaces the endpoint set, in the balancer's order. An endpoint whose key was already
    /// present keeps its state, ejection included (with duplicate keys, the first occurrence in
    /// each list is the match); a new key starts in service. Removed endpoints leave without an
    /// event.
    public mutating func update(endpoints: [BalancerEndpoint]) {
        var previous: [String: Int] = [:]
        for (index, key) in keys.enumerated() where previous[key] == nil {
            previous[key] = index
        }
        var newStates: [EndpointOutlierState] = []
        newStates.reserveCapacity(endpoints.count)
        for endpoint in endpoints {
            if let index = previous.removeValue(forKey: endpoint.key) {
                newStates.append(states[index])
            } else {
                newStates.append(EndpointOutlierState())
            }
        }
        keys = endpoints.map(\.key)
        states = newStates
        ejectedCount = states.count { $0.ejectedUntil != nil }
    }

    /// Whether `endpoints[index]` is out of service at `now`.
    public func isEjected(_ index: Int, now: Instant) -> Bool {
        guard ejectedCount > 0, states.indices.contains(index), let until = states[index].ejectedUntil else {
            return false
        }
        return now < until
    }

    /// When the current ejection of `endpoints[index]` ends; nil when it is not ejected.
    public func ejectedUntil(_ index: Int) -> Instant? {
        states.indices.contains(index) ? states[index].ejectedUntil : nil
    }

    /// Counts a successful response from `endpoints[index]`, ending its run of failures.
    public mutating func recordSuccess(_ index: Int, now: Instant) {
        guard states.indices.contains(index), inService(index, now: now) else { return }
        states[index].successes += 1
        states[index].consecutiveFailures = 0
    }

    /// Counts a failure of `endpoints[index]`; true when this failure ejected it. While the cap
    /// prevents the ejection, every further failure in the run tries again.
    @discardableResult
    public mutating func recordFailure(_ index: Int, now: Instant) -> Bool {
        guard states.indices.contains(index), inService(index, now: now) else { return false }
        states[index].failures += 1
        states[index].consecutiveFailures += 1
        guard configuration.consecutiveFailures > 0,
              states[index].consecutiveFailures >= configuration.consecutiveFailures
        else { return false }
        return eject(index, reason: .consecutiveFailures, now: now)
    }

    /// Returns endpoints whose ejection has ended, and every `interval` ejects by success rate
    /// and lets ejection counts decay; then hands over the events since the last tick. The
    /// first tick starts the first interval.
    public mutating func tick(now: Instant) -> [OutlierEvent] {
        returnExpired(now: now)
        if let due = nextEvaluation {
            if now >= due {
                evaluate(now: now)
                let next = due.advanced(by: .nanoseconds(intervalNanoseconds))
                nextEvaluation = next > now ? next : now.advanced(by: .nanoseconds(intervalNanoseconds))
            }
        } else {
            nextEvaluation = now.advanced(by: .nanoseconds(intervalNanoseconds))
        }
        guard !events.isEmpty else { return [] }
        let reported = events
        events = []
        return reported
    }

    /// Whether `endpoints[index]` is in service at `now`, returning it first if its ejection
    /// has ended.
    private mutating func inService(_ index: Int, now: Instant) -> Bool {
        guard let until = states[index].ejectedUntil else { return true }
        guard now >= until else { return false }
        returnToService(index, at: until)
        return true
    }

    /// Ejects `endpoints[index]` unless the cap forbids it; true when it did.
    mutating func eject(_ index: Int, reason: OutlierEjectionReason, now: Instant) -> Bool {
        returnExpired(now: now)
        let percent = min(max(configuration.maxEjectionPercent, 0), 100)
        guard ejectedCount * 100 < percent * states.count else { return false }
        let multiplier = min(states[index].multiplier + 1, maxMultiplier)
        let (product, overflow) = baseEjectionNanoseconds.multipliedReportingOverflow(by: multiplier)
        let length = overflow ? maxEjectionNanoseconds : min(product, maxEjectionNanoseconds)
        let until = now.advanced(by: .nanoseconds(length))
        states[index].multiplier = multiplier
        states[index].ejectedUntil = until
        states[index].ejectedThisInterval = true
        states[index].successes = 0
        states[index].failures = 0
        ejectedCount += 1
        nextReturn = min(nextReturn ?? until, until)
        events.append(OutlierEvent(key: keys[index], kind: .ejected(reason, until: until), at: now))
        return true
    }

    /// Returns every endpoint whose ejection has ended by `now`; O(1) unless one has.
    private mutating func returnExpired(now: Instant) {
        guard let due = nextReturn, now >= due else { return }
        var next: Instant?
        for index in states.indices {
            guard let until = states[index].ejectedUntil else { continue }
            if now >= until {
                returnToService(index, at: until)
            } else {
                next = min(next ?? until, until)
            }
        }
        nextReturn = next
    }

    private mutating func returnToService(_ index: Int, at instant: Instant) {
        states[index].ejectedUntil = nil
        states[index].consecutiveFailures = 0
        states[index].successes = 0
        states[index].failures = 0
        ejectedCount -= 1
        if ejectedCount == 0 { nextReturn = nil }
        events.append(OutlierEvent(key: keys[index], kind: .returned, at: instant))
    }

    /// The end of an interval: success-rate ejections, then decay of ejection counts for the
    /// endpoints that were in service throughout the interval, then fresh counts.
    private mutating func evaluate(now: Instant) {
        ejectBySuccessRate(now: now)
        for index in states.indices {
            if !states[index].ejectedThisInterval, states[index].multiplier > 0 {
                states[index].multiplier -= 1
            }
            states[index].ejectedThisInterval = states[index].ejectedUntil != nil
            states[index].successes = 0
            states[index].failures = 0
        }
    }
}
