import HeddleAPI
import Hummingbird

/// `GET /live` (the process answers) and `GET /ready` (it serves: loaded, not shutting down,
/// and with a shared store, reaching it).
enum HealthRoutes {
    /// The body of `/live` and `/ready`.
    struct Status: Codable, Sendable {
        var status: String
    }

    static func add(to router: Router<APIRequestContext>, controlPlane: ControlPlane) {
        router.get("/live") { _, _ in
            JSONBody.response(Status(status: "live"))
        }
        router.get("/ready") { _, _ in
            guard !controlPlane.isShuttingDown else {
                throw ControlPlaneError(.unavailable, "the control plane is shutting down")
            }
            if let staleness = await controlPlane.staleness {
                throw ControlPlaneError(.unavailable, staleness)
            }
            return JSONBody.response(Status(status: "ready"))
        }
    }
}
