import HeddleCore

/// When an endpoint's active health probes run. The first probe of each endpoint comes at a
/// random point within the first interval, so the probes of a service's endpoints (and of every
/// service) spread over the interval instead of firing together when the proxy starts or a
/// reload adds them. Each later probe starts one interval after the previous one started, plus
/// a random share of up to `jitter` of the interval (as Envoy's `interval_jitter_percent`), so
/// endpoints that happen to run in step drift apart again.
public struct HealthCheckSchedule: Hashable, Sendable {
    /// The largest share of the interval added to each wait by default: 10 %.
    public static let defaultJitter = 0.1

    /// Time from the start of one probe of an endpoint to the start of its next one, before
    /// jitter; at least 1 ms.
    public let interval: Duration
    /// The largest share of `interval` added at random to each wait, 0 to 1.
    public let jitter: Double

    public init(interval: Duration, jitter: Double = HealthCheckSchedule.defaultJitter) {
        self.interval = max(interval, .milliseconds(1))
        self.jitter = min(max(jitter, 0), 1)
    }

    /// The wait before an endpoint's first probe: uniform in `0 ..< interval`.
    public func firstDelay(using random: inout some RandomNumberGenerator) -> Duration {
        .nanoseconds(Int64(random.uniform(below: UInt64(interval.nanosecondsClamped))))
    }

    /// The wait from the start of a probe to the start of the next one: `interval` plus a
    /// uniform share in `0 ..< jitter × interval` (saturating at the longest `Duration` in
    /// nanoseconds).
    public func nextDelay(using random: inout some RandomNumberGenerator) -> Duration {
        let nanos = interval.nanosecondsClamped
        let spread = UInt64(Double(nanos) * jitter)
        let extra = spread == 0 ? 0 : Int64(random.uniform(below: spread))
        let (sum, overflow) = nanos.addingReportingOverflow(extra)
        return .nanoseconds(overflow ? .max : sum)
    }
}
