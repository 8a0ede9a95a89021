import HeddleCore

/// Proof that a request was started on an endpoint, handed back to
/// `LoadBalancer.requestFinished(_:now:latency:)` when the response ends.
///
/// A ticket names the endpoint by an identity the balancer assigned it, not only by index,
/// so a request may span `LoadBalancer.update(endpoints:)` calls: its finish lands on the same
/// endpoint wherever the update moved it, and does nothing if the update removed it. A ticket
/// belongs to the balancer that issued it.
public struct BalancerTicket: Hashable, Sendable {
    /// Where the endpoint was when the request started: the fast path for finding it again.
    let index: Int
    /// The balancer-assigned identity of the endpoint; 0 for a ticket that refers to nothing.
    let endpointID: UInt64
    /// When the request started, for measuring its latency.
    public let startedAt: Instant
}
