import AsyncHTTPClient
import Hummingbird
import NIOCore
import NIOHTTP1
import Synchronization

/// The demo's sample app, one role per service, built into the binary:
///
///     loadgen → web → api → users (v1 90 %, v2 10 %)
///
/// `web` and `api` call the next service through their own sidecar's outbound listener,
/// naming it in `Host`, as any app in the mesh does. `users` answers after a little work
/// (v2, the canary, a little slower) — or, while its failure switch is on, with 503.
struct SampleApp: Sendable {
    enum Role: Sendable {
        /// Calls `service` at `path` with the request's last path segment.
        case caller(service: String, path: String)
        /// Answers itself after `work`.
        case users(version: String, work: Duration)
        /// The load generator's own app: it only has to exist for its sidecar.
        case idle
    }

    let instance: String
    let role: Role
    /// The port of this instance's sidecar outbound listener, once bound.
    let outboundPort: @Sendable () -> Int?
    let failing: FailureSwitch
    let http: HTTPClient

    /// The app's routes.
    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/live") { _, _ in "live\n" }
        router.get("**") { request, _ in
            try await self.answer(request)
        }
        return router
    }

    private func answer(_ request: Request) async throws -> Response {
        let id = request.uri.path.split(separator: "/").last.map(String.init) ?? "0"
        switch role {
        case .idle:
            return Self.text(.ok, "loadgen\n")
        case .users(let version, let work):
            if failing.isOn {
                return Self.text(.serviceUnavailable, "\(instance): injected failure\n")
            }
            try await Task.sleep(for: work)
            return Self.text(.ok, #"{"user":"\#(id)","version":"\#(version)","instance":"\#(instance)"}"# + "\n")
        case .caller(let service, let path):
            guard let port = outboundPort() else {
                return Self.text(.serviceUnavailable, "\(instance): my sidecar is not ready\n")
            }
            var call = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)/\(id)")
            call.headers.add(name: "Host", value: service)
            do {
                let response = try await http.execute(call, timeout: .seconds(5))
                let body = try await response.body.collect(upTo: 64 * 1024)
                let status = HTTPResponse.Status(code: Int(response.status.code))
                return Self.text(status, "\(instance) ← " + String(buffer: body))
            } catch {
                return Self.text(.badGateway, "\(instance): calling \(service) failed: \(error)\n")
            }
        }
    }

    private static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain"], body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}

/// Makes a `users` instance answer 503 to everything while on: the demo's injected failure.
final class FailureSwitch: Sendable {
    private let state = Atomic<Bool>(false)

    var isOn: Bool { state.load(ordering: .relaxed) }

    func set(_ on: Bool) {
        state.store(on, ordering: .relaxed)
    }
}
