import HeddleAPI
import Hummingbird

/// The registry: `POST /v1/instances`, `GET /v1/instances[?service=]`,
/// `POST /v1/instances/{id}/heartbeat`, `POST /v1/instances/{id}/health`,
/// `DELETE /v1/instances/{id}`, `GET /v1/services`.
enum InstanceRoutes {
    static func add(to router: Router<APIRequestContext>, controlPlane: ControlPlane, maxBodyBytes: Int) {
        router.post("/v1/instances") { request, _ in
            let registration = try await JSONBody.decode(RegisterRequest.self, from: request, limit: maxBodyBytes)
            return JSONBody.response(try await controlPlane.register(registration), status: .created)
        }
        router.get("/v1/instances") { request, _ in
            JSONBody.response(await controlPlane.instances(service: request.uri.queryParameters.get("service")))
        }
        router.post("/v1/instances/{id}/heartbeat") { _, context in
            try await controlPlane.heartbeat(id: try context.parameters.require("id"))
            return Response(status: .noContent)
        }
        router.post("/v1/instances/{id}/health") { request, context in
            let report = try await JSONBody.decode(HealthReport.self, from: request, limit: maxBodyBytes)
            return JSONBody.response(try await controlPlane.reportHealth(id: try context.parameters.require("id"), healthy: report.healthy))
        }
        router.delete("/v1/instances/{id}") { _, context in
            try await controlPlane.deregister(id: try context.parameters.require("id"))
            return Response(status: .noContent)
        }
        router.get("/v1/services") { _, _ in
            JSONBody.response(await controlPlane.services())
        }
    }
}
