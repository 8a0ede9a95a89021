/// The golden metrics of a group of requests over an interval: rate, success rate and
/// latency percentiles, computed from two counter readings.
public struct GoldenMetrics: Equatable, Sendable {
    public var requestsPerSecond: Double
    /// Share of requests not answered with a 5xx, 0...1; nil without requests.
    public var successRate: Double?
    /// Seconds; nil without requests.
    public var p50: Double?
    public var p99: Double?

    public init(requestsPerSecond: Double, successRate: Double?, p50: Double?, p99: Double?) {
        self.requestsPerSecond = requestsPerSecond
        self.successRate = successRate
        self.p50 = p50
        self.p99 = p99
    }

    /// The traffic from `earlier` to `later`, `seconds` apart.
    public init(from earlier: RequestCounters, to later: RequestCounters, seconds: Double) {
        let traffic = later.since(earlier)
        self.init(traffic: traffic, seconds: seconds)
    }

    /// `traffic` seen over `seconds`.
    public init(traffic: RequestCounters, seconds: Double) {
        requestsPerSecond = seconds > 0 ? traffic.requests / seconds : 0
        successRate = traffic.requests > 0 ? (traffic.requests - traffic.failures) / traffic.requests : nil
        p50 = traffic.latency(quantile: 0.5)
        p99 = traffic.latency(quantile: 0.99)
    }
}
