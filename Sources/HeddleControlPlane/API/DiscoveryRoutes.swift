import HeddleAPI
import Hummingbird

/// The proxies' side: `GET /v1/watch?proxy=ID[&service=NAME][&calls=A,B][&version=V&digest=D]` (a
/// stream of pushes), `POST /v1/proxies/{id}/ack[?version=V]`, `POST /v1/proxies/{id}/calls` (on-demand
/// discovery), `GET /v1/proxies`.
enum DiscoveryRoutes {
    static func add(to router: Router<APIRequestContext>, controlPlane: ControlPlane, maxBodyBytes: Int) {
        router.get("/v1/watch") { request, _ in
            guard let proxy = request.uri.queryParameters.get("proxy") else {
                throw APIFailure.invalid("proxy is required: /v1/watch?proxy=ID[&service=NAME]")
            }
            let service = request.uri.queryParameters.get("service").flatMap { $0.isEmpty ? nil : String($0) }
            // `calls`: the hosts the proxy's app calls, comma-separated; absent, the whole mesh.
            // `calls=` (empty): the app calls nothing, so the proxy is pushed nothing.
            let calls = request.uri.queryParameters.get("calls").map { $0.isEmpty ? [] : $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            // `version` and `digest`: what the proxy holds, when it resumes (see `WatchResume`).
            let resume = try resumePoint(request.uri.queryParameters)
            return WatchStream.response(try await controlPlane.watch(proxyID: String(proxy), service: service, calls: calls, resume: resume))
        }
        router.post("/v1/proxies/{id}/ack") { request, context in
            // `?version=N` without a body: version N accepted, the common answer, without a
            // JSON document to read per proxy.
            let ack: PushAck
            if let version = request.uri.queryParameters.get("version") {
                guard let number = Int64(version), number >= 0 else {
                    throw ControlPlaneError(.invalid, "version: '\(version)' is not a configuration version")
                }
                ack = PushAck(version: number, accepted: true)
            } else {
                ack = try await JSONBody.decode(PushAck.self, from: request, limit: maxBodyBytes)
            }
            try await controlPlane.ack(proxyID: try context.parameters.require("id"), ack)
            return Response(status: .noContent)
        }
        router.post("/v1/proxies/{id}/calls") { request, context in
            let calls = try await JSONBody.decode(CallsRequest.self, from: request, limit: maxBodyBytes)
            return JSONBody.response(try await controlPlane.learnCalls(proxyID: try context.parameters.require("id"), calls.add, remove: calls.remove))
        }
        router.get("/v1/proxies") { _, _ in
            JSONBody.response(await controlPlane.proxies())
        }
    }

    private static func resumePoint(_ query: Parameters) throws -> WatchResume? {
        let version = query.get("version").map { String($0) }
        let digest = query.get("digest").map { String($0) }
        do throws(WatchResumeError) {
            return try WatchResume.parse(version: version, digest: digest)
        } catch {
            throw APIFailure.invalid(error.message)
        }
    }
}
