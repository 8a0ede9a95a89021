import AsyncHTTPClient
import Foundation
import HeddleAPI
import HeddleCore
import NIOConcurrencyHelpers
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// The control plane's JSON API as sidecars and the `heddle` CLI use it: registration and
/// heartbeats, the watch stream of configuration pushes and acknowledgements, and the
/// resources and registry. Every failure is a `ControlPlaneClientError` naming what was asked
/// of which control plane (with the control plane's own message).
///
/// Given several control planes (replicas on one etcd cluster: `http://a:7470,http://b:7470`),
/// requests go to the one that answered last; one that cannot be reached, or answers 503 (it
/// is shutting down, or has lost its store), sends the request on to the next.
public struct ControlPlaneClient: Sendable {
    /// Every control plane's base URL, such as `http://127.0.0.1:7470`.
    public let baseURLs: [String]
    /// The control plane requests go to now.
    public var baseURL: String { baseURLs[current.withLockedValue { $0 }] }
    private let current = NIOLockedValueBox(0)
    /// Sent as `Authorization: Bearer …` with every request: what lets the CLI change the mesh
    /// from another host (or when the control plane asks for it from its own).
    public let adminToken: String?
    private let http: HTTPClient
    private static let requestTimeout: TimeAmount = .seconds(5)
    private static let applyTimeout: TimeAmount = .seconds(60)
    /// The largest watch message accepted: a push that size is a mesh far past this proxy.
    static let maxPushBytes = 64 * 1024 * 1024

    /// The HTTP client requests go through unless one is given: a connection that cannot be
    /// made fails within a second instead of being retried until the request's deadline, so
    /// that a dead control plane is passed over at once. Never shut down, like
    /// `HTTPClient.shared`.
    public static let failFastHTTP: HTTPClient = {
        var configuration = HTTPClient.Configuration.singletonConfiguration
        configuration.timeout.connect = .seconds(1)
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// `baseURL`: one control plane's URL, or several separated by commas.
    public init(baseURL: String, adminToken: String? = nil, http: HTTPClient = ControlPlaneClient.failFastHTTP) {
        let urls = baseURL.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.baseURLs = urls.isEmpty ? [baseURL] : urls
        self.adminToken = adminToken
        self.http = http
    }

    /// Moves on to the next control plane after `failed` (unless another request already did).
    private func moveOn(from failed: Int) {
        current.withLockedValue { index in
            if index == failed { index = (failed + 1) % baseURLs.count }
        }
    }

    /// Registers an instance; the control plane assigns its id.
    public func register(_ request: RegisterRequest) async throws -> Instance {
        try await send(.POST, "/v1/instances", body: request, expecting: [201, 200])
    }

    /// Renews the instance's lease. False when the control plane no longer knows it (its lease
    /// ran out, or the control plane lost it): the sidecar registers again.
    public func heartbeat(_ id: String) async throws -> Bool {
        let response = try await execute(.POST, "/v1/instances/\(id)/heartbeat", body: nil)
        if response.status == .notFound { return false }
        try await Self.check(response, expecting: [204, 200], what: "heartbeat of \(id)", baseURL: baseURL)
        return true
    }

    /// Removes the instance (the sidecar is stopping).
    public func deregister(_ id: String) async throws {
        let response = try await execute(.DELETE, "/v1/instances/\(id)", body: nil)
        if response.status == .notFound { return }
        try await Self.check(response, expecting: [204, 200], what: "deregistration of \(id)", baseURL: baseURL)
    }

    /// Acknowledges (or rejects, with the reasons) a pushed version.
    public func ack(proxy: String, _ ack: PushAck) async throws {
        // An accepted push is acknowledged by its version alone; a refusal carries its errors.
        let response = ack.accepted && ack.errors.isEmpty
            ? try await execute(.POST, "/v1/proxies/\(Self.escape(proxy))/ack?version=\(ack.version)", body: nil)
            : try await execute(.POST, "/v1/proxies/\(Self.escape(proxy))/ack", body: try JSONEncoder().encode(ack))
        try await Self.check(response, expecting: [204, 200], what: "acknowledgement of version \(ack.version)", baseURL: baseURL)
    }

    /// Opens the watch stream of `proxy` (serving `service`): the current configuration, then
    /// one push per change, each a line of JSON. The sequence ends when the stream does; it
    /// throws when the control plane cannot be reached or sends something that is not a push.
    /// `resume`: the whole configuration the proxy holds; when it is still current, the stream
    /// begins with an empty delta from it instead of the whole again.
    public func watch(proxy: String, service: String, calls: [String]? = nil, resume: WatchResume? = nil) async throws -> AsyncThrowingStream<ConfigPush, any Error> {
        var scope = calls.map { "&calls=" + Self.escape($0.joined(separator: ",")) } ?? ""
        if let resume { scope += "&version=\(resume.version)&digest=\(resume.digest)" }
        var response: HTTPClientResponse?
        var failures: [String] = []
        for _ in baseURLs.indices {
            let index = current.withLockedValue { $0 }
            let baseURL = baseURLs[index]
            var request = HTTPClientRequest(url: "\(baseURL)/v1/watch?proxy=\(Self.escape(proxy))&service=\(Self.escape(service))\(scope)")
            request.method = .GET
            request.headers.add(name: "Accept", value: "application/x-ndjson")
            do {
                let answer = try await http.execute(request, timeout: .hours(24 * 365))
                if answer.status == .ok {
                    response = answer
                    break
                }
                if answer.status == .serviceUnavailable, baseURLs.count > 1 {
                    failures.append("\(baseURL): 503")
                    moveOn(from: index)
                    continue
                }
                try await Self.check(answer, expecting: [200], what: "watch", baseURL: baseURL)
            } catch let error as ControlPlaneClientError {
                throw error
            } catch {
                failures.append("\(baseURL): \(error)")
                moveOn(from: index)
            }
        }
        guard let response else {
            throw ControlPlaneClientError(message: "cannot reach the control plane (watch): \(failures.joined(separator: "; "))")
        }
        let body = response.body
        let baseURL = self.baseURL
        return AsyncThrowingStream { continuation in
            let task = Task {
                var lines = NDJSONLines(limit: Self.maxPushBytes)
                do {
                    for try await chunk in body {
                        let complete: [ByteBuffer]
                        do throws(NDJSONLines.LineTooLong) {
                            complete = try lines.feed(chunk)
                        } catch {
                            throw ControlPlaneClientError(message: "a watch message is over \(error.limit) bytes")
                        }
                        for line in complete {
                            do {
                                continuation.yield(try JSONDecoder().decode(ConfigPush.self, from: Data(buffer: line)))
                            } catch {
                                throw ControlPlaneClientError(message: "the watch stream of \(baseURL) sent a line that is not a configuration push: \(error)")
                            }
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// On-demand discovery: tells the control plane the app called `names`, which the proxy's
    /// watch does not carry; it answers which the mesh has (their push follows on the watch).
    public func learnCalls(proxy: String, _ names: [String]) async throws -> CallsResult {
        try await send(.POST, "/v1/proxies/\(Self.escape(proxy))/calls", body: CallsRequest(add: names), expecting: [200])
    }

    /// On-demand discovery: the app no longer calls `names`; they leave the proxy's watch.
    public func forgetCalls(proxy: String, _ names: [String]) async throws -> CallsResult {
        try await send(.POST, "/v1/proxies/\(Self.escape(proxy))/calls", body: CallsRequest(remove: names), expecting: [200])
    }

    // MARK: Resources and registry (the CLI)

    /// Applies YAML documents (`dryRun`: report only).
    public func apply(yaml: String, dryRun: Bool) async throws -> ApplyResult {
        // A large apply (thousands of documents, each judged with all the others) may take a
        // while: not the 5 s of a sidecar's requests.
        let response = try await execute(.POST, "/v1/apply", body: try JSONEncoder().encode(ApplyRequest(yaml: yaml, dryRun: dryRun)), timeout: Self.applyTimeout)
        if response.status == .badRequest {
            let error: APIError = try await Self.decode(response, what: "apply", baseURL: baseURL)
            let lines = error.errors.map { "  \($0.resource): \($0.path.isEmpty ? "" : "\($0.path): ")\($0.reason)\($0.line.map { " (line \($0))" } ?? "")" }
            throw ControlPlaneClientError(message: ([error.message] + lines).joined(separator: "\n"))
        }
        try await Self.check(response, expecting: [200], what: "apply", baseURL: baseURL)
        return try await Self.decode(response, what: "apply", baseURL: baseURL)
    }

    public func resources(kind: String?) async throws -> ItemList<ResourceEnvelope> {
        try await get(kind.map { "/v1/resources?kind=\(Self.escape($0))" } ?? "/v1/resources")
    }

    public func resource(kind: String, name: String) async throws -> ResourceEnvelope {
        try await get("/v1/resources/\(Self.escape(kind))/\(Self.escape(name))")
    }

    public func delete(kind: String, name: String) async throws -> DeleteResult {
        let response = try await execute(.DELETE, "/v1/resources/\(Self.escape(kind))/\(Self.escape(name))", body: nil)
        try await Self.check(response, expecting: [200], what: "delete \(kind)/\(name)", baseURL: baseURL)
        return try await Self.decode(response, what: "delete", baseURL: baseURL)
    }

    /// Every proxy that has watched: connected or not, its last push and acknowledgement.
    public func proxies() async throws -> ItemList<ProxyStatus> {
        try await get("/v1/proxies")
    }

    public func services() async throws -> ItemList<ServiceSummary> {
        try await get("/v1/services")
    }

    /// Live request events of `service` (`heddle tap`): one JSON object per line, as the
    /// control plane relays them from the service's proxies. `filter` holds `path`, `method`,
    /// `status`, `rate`, `max`, `duration`.
    public func tap(service: String, filter: [String: String]) async throws -> AsyncThrowingStream<String, any Error> {
        let query = filter.sorted { $0.key < $1.key }.map { "&\($0.key)=\(Self.escape($0.value))" }.joined()
        var request = HTTPClientRequest(url: "\(baseURL)/v1/tap?service=\(Self.escape(service))\(query)")
        request.method = .GET
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .hours(24 * 365))
        } catch {
            throw ControlPlaneClientError(message: "cannot reach the control plane at \(baseURL) (tap): \(error)")
        }
        try await Self.check(response, expecting: [200], what: "tap \(service)", baseURL: baseURL)
        let body = response.body
        return AsyncThrowingStream { continuation in
            let task = Task {
                var lines = NDJSONLines(limit: 1 << 20)
                do {
                    for try await chunk in body {
                        for line in try lines.feed(chunk) {
                            continuation.yield(String(buffer: line))
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// What a proxy of `from` would do with a request (`heddle explain --from`).
    public func preview(from: String, host: String, path: String, method: String, headers: [String]) async throws -> RoutePreview {
        let query = ["from=\(Self.escape(from))", "host=\(Self.escape(host))", "path=\(Self.escape(path))", "method=\(Self.escape(method))"]
            + headers.map { "header=\(Self.escape($0))" }
        return try await get("/v1/explain?" + query.joined(separator: "&"))
    }

    /// Why request `id` failed (`heddle explain`).
    public func explain(id: String) async throws -> Explanation {
        try await get("/v1/explain/\(Self.escape(id))")
    }

    /// Live traffic per service and route over about `window` seconds (`heddle top`).
    public func top(window: Int) async throws -> TopReport {
        try await get("/v1/top?window=\(window)")
    }

    /// A join token for a new proxy of a service.
    public func createToken(_ request: TokenRequest) async throws -> TokenResponse {
        try await send(.POST, "/v1/tokens", body: request, expecting: [201])
    }

    /// Signs a certificate signing request, on proof of the service (token or current certificate).
    public func requestCertificate(_ request: CertificateRequest) async throws -> CertificateResponse {
        try await send(.POST, "/v1/certificates", body: request, expecting: [201])
    }

    /// The trust bundle (PEM) and the key identifier of the CA that signs now (hex; nil from a
    /// control plane that does not say).
    public func trustBundle() async throws -> (pem: String, signerKeyID: String?) {
        let response = try await execute(.GET, "/v1/trust-bundle", body: nil)
        try await Self.check(response, expecting: [200], what: "GET /v1/trust-bundle", baseURL: baseURL)
        let bytes = try await response.body.collect(upTo: 4 * 1024 * 1024)
        return (String(buffer: bytes), response.headers.first(name: "Heddle-Signer-Key-ID"))
    }

    /// The certificate authority's state and root rotation.
    public func caStatus() async throws -> CAStatus {
        try await get("/v1/ca")
    }

    public func rotateRoot(_ phase: String) async throws -> CAStatus {
        try await send(.POST, "/v1/ca/rotation", body: CARotationRequest(phase: phase), expecting: [200])
    }

    /// Reports what the sidecar finds of its app: an unhealthy instance gets no traffic.
    public func reportHealth(_ id: String, healthy: Bool) async throws -> Instance {
        try await send(.POST, "/v1/instances/\(Self.escape(id))/health", body: HealthReport(healthy: healthy), expecting: [200])
    }

    public func instances(service: String?) async throws -> ItemList<Instance> {
        try await get(service.map { "/v1/instances?service=\(Self.escape($0))" } ?? "/v1/instances")
    }

    private func get<Result: Decodable>(_ path: String) async throws -> Result {
        let response = try await execute(.GET, path, body: nil)
        try await Self.check(response, expecting: [200], what: "GET \(path)", baseURL: baseURL)
        return try await Self.decode(response, what: "GET \(path)", baseURL: baseURL)
    }

    private static func decode<Result: Decodable>(_ response: HTTPClientResponse, what: String, baseURL: String) async throws -> Result {
        let bytes = try await response.body.collect(upTo: 64 * 1024 * 1024)
        do {
            return try JSONDecoder().decode(Result.self, from: Data(buffer: bytes))
        } catch {
            throw ControlPlaneClientError(message: "\(what): the control plane at \(baseURL) answered something unreadable: \(error)")
        }
    }

    // MARK: Plumbing

    private func send<Body: Encodable, Result: Decodable>(_ method: HTTPMethod, _ path: String, body: Body, expecting statuses: Set<UInt>) async throws -> Result {
        let response = try await execute(method, path, body: try JSONEncoder().encode(body))
        try await Self.check(response, expecting: statuses, what: "\(method.rawValue) \(path)", baseURL: baseURL)
        return try await Self.decode(response, what: "\(method.rawValue) \(path)", baseURL: baseURL)
    }

    private func execute(_ method: HTTPMethod, _ path: String, body: Data?, timeout: TimeAmount = ControlPlaneClient.requestTimeout) async throws -> HTTPClientResponse {
        var failures: [String] = []
        for attempt in baseURLs.indices {
            let index = current.withLockedValue { $0 }
            let baseURL = baseURLs[index]
            var request = HTTPClientRequest(url: baseURL + path)
            request.method = method
            if let adminToken { request.headers.add(name: "Authorization", value: "Bearer \(adminToken)") }
            if let body {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: body))
            }
            do {
                let response = try await http.execute(request, timeout: timeout)
                // A control plane shutting down or cut off from its store: the next one, if any.
                if response.status == .serviceUnavailable, attempt < baseURLs.count - 1 {
                    failures.append("\(baseURL): 503")
                    moveOn(from: index)
                    continue
                }
                return response
            } catch {
                failures.append("\(baseURL): \(error)")
                moveOn(from: index)
            }
        }
        let target = baseURLs.count == 1 ? "the control plane at \(baseURLs[0])" : "any control plane"
        throw ControlPlaneClientError(message: "cannot reach \(target) (\(method.rawValue) \(path)): \(failures.joined(separator: "; "))")
    }

    /// Throws the control plane's own error (its `APIError` message) unless the status is
    /// one of `statuses`.
    private static func check(_ response: HTTPClientResponse, expecting statuses: Set<UInt>, what: String, baseURL: String) async throws {
        guard !statuses.contains(response.status.code) else { return }
        let bytes = try? await response.body.collect(upTo: 1024 * 1024)
        let detail = bytes.flatMap { try? JSONDecoder().decode(APIError.self, from: Data(buffer: $0)) }.map(\.message)
            ?? bytes.map { String(buffer: $0) } ?? ""
        throw ControlPlaneClientError(message: "\(what) refused by the control plane at \(baseURL): \(response.status.code) \(detail)")
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=?/"))) ?? text
    }
}

/// A control-plane request that failed, in words an operator can act on.
public struct ControlPlaneClientError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

