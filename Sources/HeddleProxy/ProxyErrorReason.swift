import NIOHTTP1

/// Why the proxy answered a request itself instead of passing on the app's response. Each
/// reason has the status it is answered with, the `heddle-error` value, and the RFC 9209
/// `Proxy-Status` error type.
public enum ProxyErrorReason: String, CaseIterable, Sendable {
    case noRoute = "no-route"
    case noEndpoints = "no-endpoints"
    case connectFailed = "connect-failed"
    case connectTimeout = "connect-timeout"
    /// The mutual-TLS handshake with a mesh peer failed: its certificate is not of this mesh,
    /// names another service, has expired, or the peer refused ours.
    case upstreamTLSFailed = "upstream-tls-failed"
    /// The endpoint is a mesh peer reached over mutual TLS, and this proxy has no workload
    /// certificate (yet) to present.
    case noWorkloadIdentity = "no-workload-identity"
    case dnsFailed = "dns-failed"
    case upstreamReset = "upstream-reset"
    case upstreamTimeout = "upstream-timeout"
    case upstreamProtocolError = "upstream-protocol-error"
    case badRequest = "bad-request"
    case headersTooLarge = "headers-too-large"
    case unsupportedVersion = "unsupported-version"
    case notImplemented = "not-implemented"
    case requestHeaderTimeout = "request-header-timeout"
    /// The request's deadline (the caller's `grpc-timeout` or `heddle-deadline`) passed.
    case deadlineExceeded = "deadline-exceeded"
    /// A retry was due but the destination's retry budget had none left: the original
    /// failure is answered, with its status.
    case retryBudgetExhausted = "retry-budget-exhausted"
    /// A circuit breaker limit (connections, pending or in-flight requests, retries) of the
    /// destination is reached; answered at once, never queued.
    case circuitOpen = "circuit-open"
    /// A local rate limit (route or listener token bucket) refused the request.
    case rateLimited = "rate-limited"
    /// A route's fault injection aborted the request (for chaos tests).
    case faultInjected = "fault-injected"
    /// An `AuthorizationPolicy` of the destination service denies the caller this request.
    case deniedByPolicy = "denied-by-policy"

    /// The `heddle-error` header value.
    public var identifier: String { rawValue }

    public var status: Int {
        switch self {
        case .noRoute: 404
        case .noEndpoints, .dnsFailed: 503
        case .connectFailed, .upstreamReset, .upstreamProtocolError, .upstreamTLSFailed: 502
        case .noWorkloadIdentity: 503
        case .connectTimeout, .upstreamTimeout: 504
        case .badRequest: 400
        case .headersTooLarge: 431
        case .unsupportedVersion: 505
        case .notImplemented: 501
        case .requestHeaderTimeout: 408
        case .deadlineExceeded: 504
        case .retryBudgetExhausted, .circuitOpen, .faultInjected: 503
        case .rateLimited: 429
        case .deniedByPolicy: 403
        }
    }

    /// The RFC 9209 error type for `Proxy-Status`.
    public var proxyStatusError: String {
        switch self {
        case .noRoute: "destination_not_found"
        case .noEndpoints: "destination_unavailable"
        case .connectFailed: "connection_refused"
        case .connectTimeout: "connection_timeout"
        case .upstreamTLSFailed: "tls_certificate_error"
        case .noWorkloadIdentity: "proxy_configuration_error"
        case .dnsFailed: "dns_error"
        case .upstreamReset: "connection_terminated"
        case .upstreamTimeout: "http_response_timeout"
        case .upstreamProtocolError: "http_protocol_error"
        case .badRequest, .unsupportedVersion, .notImplemented, .requestHeaderTimeout: "http_request_error"
        case .headersTooLarge: "http_request_error"
        case .deadlineExceeded: "http_response_timeout"
        case .retryBudgetExhausted: "destination_unavailable"
        case .circuitOpen: "connection_limit_reached"
        case .rateLimited: "http_request_denied"
        case .faultInjected: "proxy_internal_response"
        case .deniedByPolicy: "http_request_denied"
        }
    }

    public var reasonPhrase: String { Self.reasonPhrase(for: status) }

    /// The reason phrase of a status the proxy answers with.
    public static func reasonPhrase(for status: Int) -> String {
        switch status {
        case 400: "Bad Request"
        case 404: "Not Found"
        case 403: "Forbidden"
        case 408: "Request Timeout"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: HTTPResponseStatus(statusCode: status).reasonPhrase
        }
    }
}

/// A failure the proxy reports to the client: the reason and a detail naming what failed
/// (the host, the endpoint, the parser's finding).
public struct ProxyFailure: Error, Sendable {
    public var reason: ProxyErrorReason
    public var details: String
    /// The status answered: the reason's own, unless a policy chose another (an injected
    /// abort's status, or the original failure's when the retry budget ran out).
    public var status: Int
    /// The gRPC status a gRPC call is answered with, when a policy chose it (an injected
    /// abort); nil maps the reason.
    public var grpcStatus: Int?
    /// Whole seconds for a `Retry-After` header (a rate limit's refill time).
    public var retryAfterSeconds: Int?
    /// The id the failure is remembered by (`heddle-request-id`, `heddle explain ID`): the
    /// request's trace id when the proxy traces, else drawn when the request failed.
    public var requestID: String?

    /// The app's own answer, passed on marked: a retry was due and the retry budget had none
    /// (for the failure log, traces and the access log; the response itself is the app's).
    static func budgetMarked(status: Int) -> ProxyFailure {
        ProxyFailure(.retryBudgetExhausted, "the app answered \(status); a retry was due and the service's retry budget had none left", status: status)
    }

    public init(_ reason: ProxyErrorReason, _ details: String, status: Int? = nil, grpcStatus: Int? = nil, retryAfterSeconds: Int? = nil) {
        self.reason = reason
        self.details = details
        self.status = status ?? reason.status
        self.grpcStatus = grpcStatus
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// This failure, answered because a retry was due and the budget had none left: same
    /// status, reason `retry-budget-exhausted`, details naming the original reason.
    public func budgetExhausted() -> ProxyFailure {
        ProxyFailure(.retryBudgetExhausted, "\(reason.identifier): \(details) (retry budget exhausted)", status: status, grpcStatus: grpcStatus)
    }

    /// The `Proxy-Status` header value: `heddle; error=…; details="…"`, with the details made
    /// a valid structured-field string (printable ASCII, quotes and backslashes escaped).
    public var proxyStatus: String {
        var escaped = ""
        for scalar in details.unicodeScalars.prefix(200) {
            switch scalar {
            case "\"", "\\": escaped += "\\" + String(scalar)
            case " "..."~": escaped.unicodeScalars.append(scalar)
            default: escaped += "?"
            }
        }
        return "heddle; error=\(reason.proxyStatusError); details=\"\(escaped)\""
    }
}
