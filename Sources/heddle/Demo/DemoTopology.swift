/// One instance of the demo's sample app: the service it belongs to, its name, what it does.
struct DemoInstance: Sendable {
    let service: String
    let name: String
    let role: SampleApp.Role
    let labels: [String: String]
    /// What its app calls: its sidecar is pushed only that part of the mesh.
    let calls: [String]
}

/// The demo's mesh: `loadgen → web → api → users`, where the route `users` splits 90/10
/// between `users-v1` (two instances) and the canary `users-v2`.
enum DemoTopology {
    static let instances: [DemoInstance] = [
        DemoInstance(service: "loadgen", name: "loadgen", role: .idle, labels: [:], calls: ["web"]),
        DemoInstance(service: "web", name: "web-1", role: .caller(service: "api", path: "/profile"), labels: ["version": "v1"], calls: ["api"]),
        DemoInstance(service: "api", name: "api-1", role: .caller(service: "users", path: "/users"), labels: ["version": "v1", "zone": "a"], calls: ["users"]),
        DemoInstance(service: "api", name: "api-2", role: .caller(service: "users", path: "/users"), labels: ["version": "v1", "zone": "b"], calls: ["users"]),
        DemoInstance(service: "users-v1", name: "users-v1-a", role: .users(version: "v1", work: .milliseconds(2)), labels: ["version": "v1", "zone": "a"], calls: []),
        DemoInstance(service: "users-v1", name: "users-v1-b", role: .users(version: "v1", work: .milliseconds(2)), labels: ["version": "v1", "zone": "b"], calls: []),
        DemoInstance(service: "users-v2", name: "users-v2-a", role: .users(version: "v2", work: .milliseconds(4)), labels: ["version": "v2", "zone": "a"], calls: []),
    ]

    /// The instance whose app starts answering 503 midway.
    static let failingInstance = "users-v1-b"

    /// Where the load goes: the loadgen sidecar's outbound listener, for this host.
    static let entryService = "web"
}
