/// What a proxy counted for one group of requests (a route and backend, an instance, ...):
/// requests by status class and the latency histogram. Counters only grow, so two readings
/// taken apart give the traffic in between (`GoldenMetrics`).
public struct RequestCounters: Equatable, Sendable {
    /// Requests answered, all statuses.
    public var requests: Double = 0
    /// Requests answered with a 5xx status (the proxy's own failures included).
    public var failures: Double = 0
    /// Cumulative latency buckets: upper bound in seconds → requests at or under it
    /// (`+Inf` included).
    public var buckets: [Double: Double] = [:]

    public init(requests: Double = 0, failures: Double = 0, buckets: [Double: Double] = [:]) {
        self.requests = requests
        self.failures = failures
        self.buckets = buckets
    }

    /// Both groups together.
    public static func + (lhs: Self, rhs: Self) -> Self {
        Self(requests: lhs.requests + rhs.requests, failures: lhs.failures + rhs.failures, buckets: lhs.buckets.merging(rhs.buckets, uniquingKeysWith: +))
    }

    /// The traffic between an earlier reading and this one. A counter that went down (the
    /// proxy restarted) counts from zero.
    public func since(_ earlier: Self) -> Self {
        guard requests >= earlier.requests else { return self }
        var buckets: [Double: Double] = [:]
        for (bound, count) in self.buckets {
            buckets[bound] = max(0, count - (earlier.buckets[bound] ?? 0))
        }
        return Self(requests: requests - earlier.requests, failures: max(0, failures - earlier.failures), buckets: buckets)
    }

    /// The latency at quantile `q` (0...1) in seconds, interpolated within its bucket as
    /// Prometheus' `histogram_quantile` does; nil without requests. A quantile in the `+Inf`
    /// bucket is reported as the largest finite bound.
    public func latency(quantile q: Double) -> Double? {
        let sorted = buckets.sorted { $0.key < $1.key }
        guard let total = sorted.last?.value, total > 0 else { return nil }
        let rank = q * total
        var lowerBound = 0.0
        var lowerCount = 0.0
        for (bound, count) in sorted {
            if count >= rank {
                if bound == .infinity { return lowerBound }
                guard count > lowerCount else { return bound }
                return lowerBound + (bound - lowerBound) * (rank - lowerCount) / (count - lowerCount)
            }
            lowerBound = bound
            lowerCount = count
        }
        return lowerBound
    }
}
