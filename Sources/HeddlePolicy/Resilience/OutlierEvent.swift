import HeddleCore

/// An endpoint leaving or coming back to service by `OutlierDetector`'s decision, reported so
/// the proxy can count and log it.
public struct OutlierEvent: Hashable, Sendable {
    /// What happened.
    public enum Kind: Hashable, Sendable {
        /// The endpoint was ejected for `reason`, until `until`.
        case ejected(OutlierEjectionReason, until: Instant)
        /// The endpoint's ejection ended and it is back in service.
        case returned
    }

    /// The endpoint's `BalancerEndpoint.key`: stable across updates, unlike its index.
    public var key: String
    public var kind: Kind
    /// When it happened.
    public var at: Instant

    public init(key: String, kind: Kind, at: Instant) {
        self.key = key
        self.kind = kind
        self.at = at
    }
}

/// Why `OutlierDetector` ejected an endpoint. The raw values are stable metric labels.
public enum OutlierEjectionReason: String, Hashable, Sendable, CaseIterable {
    /// `consecutiveFailures` failures in a row.
    case consecutiveFailures = "consecutive-failures"
    /// A success rate far below the other endpoints'.
    case successRate = "success-rate"
}
