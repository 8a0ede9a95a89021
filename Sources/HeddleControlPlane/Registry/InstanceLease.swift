import HeddleCore

/// An instance's lease, kept in memory (heartbeats are not store writes): renewed by every
/// heartbeat; once `duration` passes without one the instance is marked unhealthy, and once
/// `duration` passes again it is removed.
struct InstanceLease: Hashable, Sendable {
    /// What the lease calls for at a given time.
    enum Action: Hashable, Sendable {
        case none
        /// The lease ran out: mark the instance unhealthy.
        case expire
        /// The lease ran out twice over: remove the instance.
        case remove
    }

    var duration: Duration
    private(set) var renewedAt: Instant
    /// True once the lease ran out (and the instance was marked unhealthy for it).
    private(set) var expired = false

    init(duration: Duration, renewedAt: Instant, expired: Bool = false) {
        self.duration = duration
        self.renewedAt = renewedAt
        self.expired = expired
    }

    mutating func renew(at now: Instant) {
        renewedAt = now
        expired = false
    }

    mutating func markExpired() {
        expired = true
    }

    func action(at now: Instant) -> Action {
        if now >= renewedAt.advanced(by: duration * 2) { return .remove }
        if !expired, now >= renewedAt.advanced(by: duration) { return .expire }
        return .none
    }
}
