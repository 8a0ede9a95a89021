/// One service the control plane knows, by a `Service` resource or by registered instances
/// (`GET /v1/services`).
public struct ServiceSummary: Codable, Hashable, Sendable {
    public var name: String
    /// True when a `Service` resource of this name is stored.
    public var declared: Bool
    /// Registered instances that are healthy now.
    public var healthyInstances: Int
    /// Every registered instance.
    public var totalInstances: Int

    public init(name: String, declared: Bool, healthyInstances: Int, totalInstances: Int) {
        self.name = name
        self.declared = declared
        self.healthyInstances = healthyInstances
        self.totalInstances = totalInstances
    }
}
