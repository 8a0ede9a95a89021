import Foundation
import HeddleAPI
import Hummingbird
import Logging
import NIOCore

/// Turns every error a route throws into an `APIError` JSON body with its status: 400 for
/// what the request got wrong, 404 for an unknown route, 409, 413, 415, 503, and 500 (logged)
/// for anything unexpected.
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let failure = Self.failure(for: error, request: request)
            if failure.status == .internalServerError {
                context.logger.error("request failed", metadata: ["method": "\(request.method)", "path": "\(request.uri.path)", "error": "\(error)"])
            }
            return JSONBody.response(failure.body, status: failure.status)
        }
    }

    static func failure(for error: any Error, request: Request) -> APIFailure {
        switch error {
        case let failure as APIFailure:
            return failure
        case let error as ControlPlaneError:
            return error.apiFailure
        case is NIOTooManyBytesError:
            return .tooLarge(limit: nil)
        case let error as HTTPError where error.status == .notFound:
            return APIFailure(status: .notFound, body: APIError(code: "not-found", message: "no route for \(request.method) \(request.uri.path)"))
        case let error as any HTTPResponseError where error.status.code < 500:
            return APIFailure(status: error.status, body: APIError(code: "invalid", message: "\(error.status.reasonPhrase)"))
        default:
            return APIFailure(status: .internalServerError, body: APIError(code: "internal", message: "the control plane failed to answer: \(error)"))
        }
    }
}
