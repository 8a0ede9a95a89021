import HeddleAPI
import Hummingbird

/// An error the HTTP layer answers itself, with its status and body.
struct APIFailure: Error, Sendable {
    var status: HTTPResponse.Status
    var body: APIError

    static func tooLarge(limit: Int?) -> APIFailure {
        let message = limit.map { "the request body is larger than \($0) bytes" } ?? "the request body is too large"
        return APIFailure(status: .contentTooLarge, body: APIError(code: "too-large", message: message))
    }

    static func unsupportedMediaType(_ given: String?, accepted: [String]) -> APIFailure {
        let what = given.map { "Content-Type '\($0)' is not accepted" } ?? "the request has no Content-Type"
        return APIFailure(status: .unsupportedMediaType, body: APIError(code: "unsupported-media-type", message: "\(what): send \(accepted.joined(separator: " or "))"))
    }

    static func invalid(_ message: String) -> APIFailure {
        APIFailure(status: .badRequest, body: APIError(code: "invalid", message: message))
    }
}

extension ControlPlaneError {
    /// The HTTP status and body the API answers this error with.
    var apiFailure: APIFailure {
        let status: HTTPResponse.Status =
            switch code {
            case .invalid: .badRequest
            case .notFound: .notFound
            case .conflict: .conflict
            case .forbidden: .forbidden
            default: .serviceUnavailable
            }
        return APIFailure(status: status, body: APIError(code: code.description, message: message, errors: errors, currentRevision: currentRevision))
    }
}
