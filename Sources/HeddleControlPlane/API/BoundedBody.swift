import Foundation
import Hummingbird
import NIOCore

/// Reading a request body within a size limit.
enum BoundedBody {
    /// The whole body; 413 when it is larger than `limit` bytes.
    static func read(_ request: Request, limit: Int) async throws -> ByteBuffer {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw APIFailure.tooLarge(limit: limit)
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw APIFailure.tooLarge(limit: limit)
        }
    }

    /// The media type of the body (`application/json`), lowercased, without parameters.
    static func mediaType(of request: Request) -> String? {
        guard let value = request.headers[.contentType] else { return nil }
        // What every client of this API sends, taken without the general parse below.
        if value == "application/json" { return value }
        let type = value.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        return type.isEmpty ? nil : type
    }
}
