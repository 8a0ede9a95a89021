/// What a `LoadBalancer` keeps for one endpoint, beside `endpoints[i]`: the counters every pick
/// reads, kept together so a pick touches one small array.
struct EndpointState: Sendable {
    /// The balancer-assigned identity that tickets name; never 0, kept across updates.
    let id: UInt64
    /// A copy of the endpoint's weight.
    var weight: UInt32
    /// Requests started and not yet finished.
    var inFlight: Int = 0
    /// The latency estimate, kept up to date only under `.p2cPeakEWMA`.
    var latency = PeakEWMA()
    /// Smooth weighted round robin's current weight, reset by every update.
    var roundRobinCurrent: Int64 = 0
}
