import Foundation
import HeddleAPI
import HeddleControlPlane
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

/// Runs `test` against the API of `controlPlane` (its run loop included), through the router.
func withAPI(
    _ controlPlane: ControlPlane, identity: WorkloadAuthority? = nil, maxBodyBytes: Int = ControlPlaneAPI.defaultMaxBodyBytes,
    _ test: @escaping @Sendable (any TestClientProtocol) async throws -> Void
) async throws {
    var logger = Logger(label: "api-test")
    logger.logLevel = .critical
    let app = Application(
        router: ControlPlaneAPI.router(for: controlPlane, identity: identity, maxBodyBytes: maxBodyBytes), services: [ControlPlaneService(controlPlane)], logger: logger)
    try await app.test(.router, test)
}

/// The response body as `T`; records an issue (and throws) when it is not.
func decode<T: Decodable>(_ type: T.Type, _ response: TestResponse, sourceLocation: SourceLocation = #_sourceLocation) throws -> T {
    do {
        return try JSONDecoder().decode(type, from: Data(response.body.readableBytesView))
    } catch {
        Issue.record("body is not a \(T.self): \(String(buffer: response.body))", sourceLocation: sourceLocation)
        throw error
    }
}

/// The response's `APIError`, after checking its status and content type.
func apiError(_ response: TestResponse, _ status: HTTPResponse.Status, sourceLocation: SourceLocation = #_sourceLocation) throws -> APIError {
    #expect(response.status == status, "body: \(String(buffer: response.body))", sourceLocation: sourceLocation)
    #expect(response.headers[.contentType] == "application/json", sourceLocation: sourceLocation)
    return try decode(APIError.self, response, sourceLocation: sourceLocation)
}

/// A JSON body.
func jsonBody(_ value: some Encodable) throws -> ByteBuffer {
    ByteBuffer(bytes: try JSONEncoder().encode(value))
}

let yamlHeaders: HTTPFields = [.contentType: "application/yaml"]
let jsonHeaders: HTTPFields = [.contentType: "application/json"]
