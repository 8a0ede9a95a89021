import Foundation
import HeddleAPI
import Hummingbird
import NIOCore

/// Reading JSON request bodies (bounded, strictly typed) and writing JSON responses.
enum JSONBody {
    static let contentType = "application/json"

    /// One line of JSON, keys sorted so the same value always reads the same.
    static func encode(_ value: some Encodable) -> ByteBuffer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return ByteBuffer(bytes: try encoder.encode(value))
        } catch {
            // The wire types encode without failing; this would be a bug, not bad input.
            preconditionFailure("a wire type failed to encode: \(error)")
        }
    }

    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        var body = encode(value)
        body.writeString("\n")
        return Response(status: status, headers: [.contentType: contentType], body: ResponseBody(byteBuffer: body))
    }

    /// The request's body as `T`, read up to `limit` bytes. A body that is not `T` is refused
    /// with where and why; a content type other than JSON with 415.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int) async throws -> T {
        let mediaType = BoundedBody.mediaType(of: request)
        guard mediaType == nil || mediaType == contentType else {
            throw APIFailure.unsupportedMediaType(request.headers[.contentType], accepted: [contentType])
        }
        return try decode(type, from: try await BoundedBody.read(request, limit: limit))
    }

    static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        guard buffer.readableBytes > 0 else {
            throw APIFailure.invalid("the request body is empty: send a JSON \(T.self)")
        }
        do {
            return try JSONDecoder().decode(type, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw APIFailure.invalid("the body is not a valid \(T.self): \(describe(error))")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            let text = codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return text.hasPrefix(".") ? String(text.dropFirst()) : text
        }
        switch error {
        case let .keyNotFound(key, context):
            let parent = path(context.codingPath)
            return "\(parent.isEmpty ? "" : parent + ".")\(key.stringValue) is required"
        case let .typeMismatch(type, context):
            return "\(path(context.codingPath)): expected \(type)"
        case let .valueNotFound(type, context):
            return "\(path(context.codingPath)): expected \(type), found null"
        case let .dataCorrupted(context):
            let at = path(context.codingPath)
            return at.isEmpty ? "malformed JSON" : "\(at): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}
