import HeddleAPI
import Hummingbird

/// `POST /v1/apply`, `GET /v1/resources[?kind=]`, `GET` and `DELETE /v1/resources/{kind}/{name}`.
enum ResourceRoutes {
    static let yamlMediaTypes = ["application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"]

    static func add(to router: Router<APIRequestContext>, controlPlane: ControlPlane, admin: AdminAccess, maxBodyBytes: Int) {
        router.post("/v1/apply") { request, context in
            try admin.check(request, context)
            let result = try await apply(request, controlPlane: controlPlane, maxBodyBytes: maxBodyBytes)
            return JSONBody.response(result)
        }
        router.get("/v1/resources") { request, _ in
            JSONBody.response(try await controlPlane.list(kind: request.uri.queryParameters.get("kind")))
        }
        router.get("/v1/resources/{kind}/{name}") { _, context in
            let (kind, name) = (try context.parameters.require("kind"), try context.parameters.require("name"))
            return JSONBody.response(try await controlPlane.get(kind: kind, name: name))
        }
        router.delete("/v1/resources/{kind}/{name}") { request, context in
            try admin.check(request, context)
            let (kind, name) = (try context.parameters.require("kind"), try context.parameters.require("name"))
            let expected = try request.revisionQuery("expectedRevision")
            return JSONBody.response(try await controlPlane.delete(kind: kind, name: name, expectedRevision: expected))
        }
    }

    /// The body is an `ApplyRequest` (JSON) or the YAML itself; `?dryRun=true` asks for a dry
    /// run either way.
    private static func apply(_ request: Request, controlPlane: ControlPlane, maxBodyBytes: Int) async throws -> ApplyResult {
        let dryRun = try request.booleanQuery("dryRun")
        let mediaType = BoundedBody.mediaType(of: request)
        if mediaType == JSONBody.contentType {
            let body = try JSONBody.decode(ApplyRequest.self, from: try await BoundedBody.read(request, limit: maxBodyBytes))
            return try await controlPlane.apply(yaml: body.yaml, dryRun: dryRun || body.dryRun)
        }
        guard let mediaType, yamlMediaTypes.contains(mediaType) else {
            throw APIFailure.unsupportedMediaType(request.headers[.contentType], accepted: [JSONBody.contentType, yamlMediaTypes[0]])
        }
        let body = try await BoundedBody.read(request, limit: maxBodyBytes)
        return try await controlPlane.apply(yaml: String(buffer: body), dryRun: dryRun)
    }
}
