/// What went wrong with one attempt to send a request upstream, as `RetryPolicy` sees it.
public enum AttemptFailure: Hashable, Sendable {
    /// The connection could not be made (refused, unreachable, TLS failed): nothing was sent.
    case connectFailed
    /// The connection was not made within the connect timeout: nothing was sent.
    case connectTimeout
    /// The connection or stream was closed or reset after the request went out, before a
    /// response head arrived: the upstream may have acted on the request.
    case resetBeforeResponse
    /// No response head within the per-try timeout; the attempt was abandoned.
    case perTryTimeout
    /// A response head with this HTTP status, not yet forwarded downstream.
    case status(Int)
    /// A gRPC response ending with this `grpc-status` (14 is UNAVAILABLE), nothing of it yet
    /// forwarded downstream: in practice a trailers-only response.
    case grpcStatus(Int)
}
