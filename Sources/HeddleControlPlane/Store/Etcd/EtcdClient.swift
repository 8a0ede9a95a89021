import AsyncHTTPClient
import Foundation
import HeddleCore
import NIOConcurrencyHelpers
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOPosix

/// Talks to an etcd cluster's v3 API through its JSON gateway (`http://member:2379/v3/...`),
/// which every etcd 3.4+ member serves on its client port: no generated gRPC code, and the
/// same requests work with `curl`.
///
/// **Members.** Requests go to the member that answered last. When it cannot be reached, the
/// next is tried: any request whose connection could not be made, and reads whatever went
/// wrong (a write that may have reached a member is not sent twice: its outcome is unknown,
/// and the caller is told so).
final class EtcdClient: Sendable {
    let endpoints: [String]
    let timeout: Duration
    private let client: HTTPClient
    private let preferred = NIOLockedValueBox(0)

    /// A connection that cannot be made fails within two seconds rather than being retried
    /// until the request's deadline, so that a member that is down is passed over at once; up
    /// to 64 connections to a member, so that a burst of writes does not queue past that.
    /// Never shut down, like `HTTPClient.shared`.
    static let failFast: HTTPClient = {
        var configuration = HTTPClient.Configuration.singletonConfiguration
        configuration.timeout.connect = .seconds(2)
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    init(endpoints: [String], timeout: Duration = .seconds(5), client: HTTPClient = EtcdClient.failFast) {
        precondition(!endpoints.isEmpty, "etcd needs at least one member")
        self.endpoints = endpoints
        self.timeout = timeout
        self.client = client
    }

    /// `POST /v3/PATH` with `request` as JSON. `idempotent`: may be sent again to another
    /// member after any failure (reads); otherwise only after a connection failure.
    func call<Request: Encodable, Response: Decodable>(_ path: String, _ request: Request, as: Response.Type, idempotent: Bool) async throws(StoreError) -> Response {
        let body: Data
        do {
            body = try JSONEncoder().encode(request)
        } catch {
            throw .unavailable("cannot encode an etcd request: \(error)")
        }
        var failures: [String] = []
        let start = preferred.withLockedValue { $0 }
        for offset in 0..<endpoints.count {
            let index = (start + offset) % endpoints.count
            let endpoint = endpoints[index]
            let httpRequest = Self.post(endpoint, path, body)
            let response: HTTPClientResponse
            let payload: ByteBuffer
            do {
                response = try await client.execute(httpRequest, timeout: .init(timeout))
                payload = try await response.body.collect(upTo: 64 << 20)
            } catch {
                failures.append("\(endpoint): \(Self.describe(error))")
                if idempotent || Self.isConnectFailure(error) { continue }
                throw .unavailable("etcd did not answer \(path) at \(endpoint) (\(Self.describe(error))); the write may or may not have been applied")
            }
            preferred.withLockedValue { $0 = index }
            guard response.status == .ok else {
                let gateway = try? JSONDecoder().decode(Etcd.GatewayError.self, from: payload)
                throw Self.storeError(status: response.status, message: gateway?.text ?? String(buffer: payload), endpoint: endpoint)
            }
            do {
                return try JSONDecoder().decode(Response.self, from: payload)
            } catch {
                throw .unavailable("etcd at \(endpoint) answered \(path) with what is not a \(Response.self): \(String(buffer: payload).prefix(200))")
            }
        }
        throw .unavailable("no etcd member answered: \(failures.joined(separator: "; "))")
    }

    /// Opens a watch from `start` on the keys in [`key`, `end`) and hands each response to
    /// `body` until it returns false (or the stream ends). Used to read history, so it fails
    /// over like a read.
    func watch(key: Etcd.Bytes, end: Etcd.Bytes, start: Int64, _ body: (Etcd.WatchResponse) throws(StoreError) -> Bool) async throws(StoreError) {
        let request = Etcd.WatchRequest(create_request: Etcd.WatchCreateRequest(key: key, range_end: end, start_revision: Etcd.Int64Text(start)))
        let bodyData: Data
        do {
            bodyData = try JSONEncoder().encode(request)
        } catch {
            throw .unavailable("cannot encode an etcd watch: \(error)")
        }
        var failures: [String] = []
        let first = preferred.withLockedValue { $0 }
        for offset in 0..<endpoints.count {
            let endpoint = endpoints[(first + offset) % endpoints.count]
            let httpRequest = Self.post(endpoint, "watch", bodyData)
            do {
                let response = try await client.execute(httpRequest, timeout: .init(timeout))
                guard response.status == .ok else {
                    let payload = try await response.body.collect(upTo: 1 << 20)
                    let gateway = try? JSONDecoder().decode(Etcd.GatewayError.self, from: payload)
                    throw Self.storeError(status: response.status, message: gateway?.text ?? String(buffer: payload), endpoint: endpoint)
                }
                var lines = NDJSONLines(limit: 64 << 20)
                for try await chunk in response.body {
                    for line in try lines.feed(chunk) {
                        let message = try JSONDecoder().decode(Etcd.WatchMessage.self, from: line)
                        if let error = message.error { throw StoreError.unavailable("etcd at \(endpoint) ended the watch: \(error.text)") }
                        guard let result = message.result else { continue }
                        if try !body(result) { return }
                    }
                }
                throw StoreError.unavailable("etcd at \(endpoint) ended the watch early")
            } catch let error as StoreError {
                throw error
            } catch {
                failures.append("\(endpoint): \(Self.describe(error))")
            }
        }
        throw .unavailable("no etcd member answered the watch: \(failures.joined(separator: "; "))")
    }

    /// `POST ENDPOINT/v3/PATH` with a JSON body.
    private static func post(_ endpoint: String, _ path: String, _ body: Data) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: "\(endpoint)/v3/\(path)")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(data: body))
        return request
    }

    /// A gateway error as a store error, naming the member and etcd's reason.
    private static func storeError(status: HTTPResponseStatus, message: String, endpoint: String) -> StoreError {
        if message.contains("request is too large") {
            return .unavailable("etcd at \(endpoint) refused the write as too large (\(message)): the cluster's --max-request-bytes is lower than the store was told (--store etcd://...?max-request-bytes=N)")
        }
        return .unavailable("etcd at \(endpoint) answered \(status.code): \(message)")
    }

    private static func isConnectFailure(_ error: any Error) -> Bool {
        if error is NIOConnectionError { return true }
        if let error = error as? HTTPClientError, error == .connectTimeout { return true }
        if let error = error as? IOError, [ECONNREFUSED, EHOSTUNREACH, ENETUNREACH].contains(error.errnoCode) { return true }
        return false
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError, error == .deadlineExceeded { return "no answer within the timeout" }
        return "\(error)"
    }
}
