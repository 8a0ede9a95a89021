/// One endpoint a `LoadBalancer` chooses among: a stable key and a relative weight.
public struct BalancerEndpoint: Hashable, Sendable {
    /// A stable identity, such as `"10.0.0.1:8080"`: statistics follow it across updates, and
    /// ring hash places the endpoint on the ring by it.
    public var key: String
    /// The endpoint's share relative to the others; 0 means it is never picked.
    public var weight: UInt32

    public init(key: String, weight: UInt32 = 1) {
        self.key = key
        self.weight = weight
    }
}
