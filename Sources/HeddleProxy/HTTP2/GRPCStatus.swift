/// A gRPC status code, and the one the proxy answers a gRPC call with for each reason it fails
/// it (after gRPC's own mapping of HTTP failures: a missing route is `UNIMPLEMENTED`, an
/// unreachable or failing endpoint `UNAVAILABLE`, a timeout `DEADLINE_EXCEEDED`).
struct GRPCStatus: Hashable, Sendable {
    let code: Int

    static let ok = GRPCStatus(code: 0)
    static let deadlineExceeded = GRPCStatus(code: 4)
    static let permissionDenied = GRPCStatus(code: 7)
    static let resourceExhausted = GRPCStatus(code: 8)
    static let unimplemented = GRPCStatus(code: 12)
    static let `internal` = GRPCStatus(code: 13)
    static let unavailable = GRPCStatus(code: 14)

    init(code: Int) {
        self.code = code
    }

    init(for reason: ProxyErrorReason) {
        self = switch reason {
        case .noRoute, .notImplemented: .unimplemented
        case .noEndpoints, .connectFailed, .dnsFailed, .upstreamReset, .upstreamTLSFailed, .noWorkloadIdentity: .unavailable
        case .upstreamTimeout, .connectTimeout, .requestHeaderTimeout: .deadlineExceeded
        case .headersTooLarge: .resourceExhausted
        case .badRequest, .upstreamProtocolError, .unsupportedVersion: .internal
        case .deadlineExceeded: .deadlineExceeded
        case .retryBudgetExhausted, .circuitOpen, .faultInjected: .unavailable
        case .rateLimited: .resourceExhausted
        case .deniedByPolicy: .permissionDenied
        }
    }

    /// The status a proxy-made answer to a gRPC call carries: the failure's own when a
    /// policy chose one, else the reason's.
    init(for failure: ProxyFailure) {
        self = failure.grpcStatus.map(GRPCStatus.init(code:)) ?? GRPCStatus(for: failure.reason)
    }

    /// The `grpc-status` header value.
    var headerValue: String { String(code) }
}
