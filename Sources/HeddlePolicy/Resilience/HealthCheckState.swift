/// One endpoint's standing under active health checking: it turns unhealthy after
/// `unhealthyThreshold` failed probes in a row and healthy again after `healthyThreshold`
/// passed probes in a row; a probe of the other kind breaks a run. Defaults: 3 and 2.
///
/// An endpoint starts healthy by default: discovery has just named it, and sending it traffic
/// at once is better than waiting `healthyThreshold` probe intervals (Envoy instead waits for
/// the first probe). Pass `startsHealthy: false` for that behaviour, in which case the first
/// passing probe alone makes it healthy, as in Envoy.
public struct HealthCheckState: Hashable, Sendable {
    /// The default number of failed probes in a row that make an endpoint unhealthy: 3.
    public static let defaultUnhealthyThreshold = 3
    /// The default number of passed probes in a row that make an endpoint healthy: 2.
    public static let defaultHealthyThreshold = 2

    /// A change of standing.
    public enum Transition: Hashable, Sendable {
        case becameHealthy
        case becameUnhealthy
    }

    /// Failed probes in a row that make an endpoint unhealthy; at least 1.
    public let unhealthyThreshold: Int
    /// Passed probes in a row that make an endpoint healthy; at least 1.
    public let healthyThreshold: Int
    /// Whether the endpoint should get traffic.
    public private(set) var isHealthy: Bool
    /// The length of the current run of probes that disagree with `isHealthy`.
    private var contraryRun = 0
    /// No probe result yet.
    private var awaitingFirstProbe = true

    public init(
        unhealthyThreshold: Int = HealthCheckState.defaultUnhealthyThreshold,
        healthyThreshold: Int = HealthCheckState.defaultHealthyThreshold,
        startsHealthy: Bool = true
    ) {
        self.unhealthyThreshold = max(unhealthyThreshold, 1)
        self.healthyThreshold = max(healthyThreshold, 1)
        isHealthy = startsHealthy
    }

    /// Counts a passed probe; `.becameHealthy` when it made the endpoint healthy.
    public mutating func recordSuccess() -> Transition? {
        record(passed: true)
    }

    /// Counts a failed probe; `.becameUnhealthy` when it made the endpoint unhealthy.
    public mutating func recordFailure() -> Transition? {
        record(passed: false)
    }

    private mutating func record(passed: Bool) -> Transition? {
        defer { awaitingFirstProbe = false }
        guard passed != isHealthy else {
            contraryRun = 0
            return nil
        }
        contraryRun += 1
        let threshold = passed ? (awaitingFirstProbe ? 1 : healthyThreshold) : unhealthyThreshold
        guard contraryRun >= threshold else { return nil }
        contraryRun = 0
        isHealthy = passed
        return passed ? .becameHealthy : .becameUnhealthy
    }
}
