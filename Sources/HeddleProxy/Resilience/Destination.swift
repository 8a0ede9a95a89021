import HeddleCore
import HeddlePolicy

/// One service as one event loop sees it: the balancer, and the resilience state that decides
/// which endpoints a request may use and whether it may be sent or retried at all — outlier
/// ejections, active health, the circuit breaker and the retry budget.
///
/// Kept per event loop and touched only there, so nothing locks. Limits that bound the whole
/// proxy (breaker limits, the retry budget's floor) are split evenly across the loops, rounded
/// up, so the proxy as a whole keeps to the configured figure.
struct Destination {
    var balancer: LoadBalancer
    var outliers: OutlierDetector
    var outlierDetection: Bool
    var breaker: CircuitBreaker
    var budget: RetryBudget
    /// `unhealthy[i]`: an active health check found `balancer.endpoints[i]` failing.
    var unhealthy: [Bool]
    var unhealthyCount = 0

    init(service: ResolvedService, loops: Int) {
        let spec = service.spec
        let endpoints = service.balancerEndpoints
        balancer = LoadBalancer(algorithm: service.algorithm, endpoints: endpoints)
        outlierDetection = spec.outlierDetection.enabled
        outliers = OutlierDetector(endpoints: endpoints, configuration: Self.outlierConfiguration(spec.outlierDetection))
        let share = { (limit: Int) in max(1, (limit + loops - 1) / max(loops, 1)) }
        breaker = CircuitBreaker(limits: CircuitBreaker.Limits(
            connections: share(spec.circuitBreaker.maxConnections),
            pendingRequests: share(spec.circuitBreaker.maxPendingRequests),
            requests: share(spec.circuitBreaker.maxRequests),
            retries: share(spec.circuitBreaker.maxRetries)))
        budget = RetryBudget(
            ratio: spec.retryBudget.ratio,
            minRetriesPerSecond: spec.retryBudget.minRetriesPerSecond == 0 ? 0 : share(spec.retryBudget.minRetriesPerSecond),
            ttl: spec.retryBudget.ttl)
        unhealthy = Array(repeating: false, count: endpoints.count)
    }

    /// Carries this loop's state over to `service`'s new definition: balancer statistics and
    /// ejections follow endpoints by key; limits and budget settings take the new values while
    /// counts in flight are kept.
    mutating func update(to service: ResolvedService, loops: Int, unhealthyKeys: Set<String>) {
        let fresh = Destination(service: service, loops: loops)
        let endpoints = service.balancerEndpoints
        if balancer.algorithm == service.algorithm {
            balancer.update(endpoints: endpoints)
        } else {
            balancer = fresh.balancer
        }
        if outliers.configuration == fresh.outliers.configuration {
            outliers.update(endpoints: endpoints)
        } else {
            outliers = fresh.outliers
        }
        breaker.limits = fresh.breaker.limits
        if budget.ratio != fresh.budget.ratio || budget.minRetriesPerSecond != fresh.budget.minRetriesPerSecond || budget.ttl != fresh.budget.ttl {
            budget = fresh.budget
        }
        outlierDetection = fresh.outlierDetection
        applyHealth(unhealthyKeys)
    }

    /// Marks the endpoints whose keys an active health check reports failing.
    mutating func applyHealth(_ unhealthyKeys: Set<String>) {
        unhealthy = balancer.endpoints.map { unhealthyKeys.contains($0.key) }
        unhealthyCount = unhealthy.reduce(0) { $0 + ($1 ? 1 : 0) }
    }

    /// Whether any endpoint is out of rotation (ejected or unhealthy), so picks must ask.
    var hasExclusions: Bool { unhealthyCount > 0 || (outlierDetection && outliers.ejectedCount > 0) }

    /// Picks an endpoint that is neither ejected nor unhealthy, nor `excluding` (the endpoint
    /// a retry just failed on); nil when none is.
    mutating func pickAvailable(now: Instant, hash: UInt64?, random: inout Xoshiro256StarStar, excluding: Int? = nil) -> Int? {
        guard hasExclusions || excluding != nil else { return balancer.pick(now: now, hash: hash, using: &random) }
        let outliers = outlierDetection ? self.outliers : nil
        let unhealthy = self.unhealthy
        return balancer.pick(now: now, hash: hash, using: &random) { index in
            index != excluding && !(index < unhealthy.count && unhealthy[index]) && !(outliers?.isEjected(index, now: now) ?? false)
        }
    }

    /// Picks among every endpoint, ejected or not: the last resort ("panic mode", as Envoy
    /// calls it) when all of a service's endpoints are out and it has no failover, since an
    /// endpoint that may recover beats a certain failure.
    mutating func pickAny(now: Instant, hash: UInt64?, random: inout Xoshiro256StarStar) -> Int? {
        balancer.pick(now: now, hash: hash, using: &random)
    }

    /// Records how a request to the endpoint of `ticket` went, for outlier detection.
    mutating func recordOutcome(_ ticket: BalancerTicket, success: Bool, now: Instant) {
        guard outlierDetection, let index = balancer.index(of: ticket) else { return }
        if success {
            outliers.recordSuccess(index, now: now)
        } else {
            outliers.recordFailure(index, now: now)
        }
    }

    static func outlierConfiguration(_ spec: OutlierDetectionSpec) -> OutlierDetector.Configuration {
        OutlierDetector.Configuration(
            consecutiveFailures: spec.consecutiveFailures,
            interval: spec.interval,
            baseEjectionTime: spec.baseEjectionTime,
            maxEjectionTime: spec.maxEjectionTime,
            maxEjectionPercent: spec.maxEjectionPercent,
            successRateMinimumHosts: spec.successRate.enabled ? spec.successRate.minimumHosts : Int.max,
            successRateRequestVolume: spec.successRate.requestVolume,
            successRateStdevFactor: spec.successRate.stdevFactor)
    }
}

extension CircuitBreaker.Resource {
    /// The metrics label and the word in `circuit-open` details.
    var label: String {
        switch self {
        case .connections: "connections"
        case .pendingRequests: "pending-requests"
        case .requests: "requests"
        case .retries: "retries"
        }
    }
}
