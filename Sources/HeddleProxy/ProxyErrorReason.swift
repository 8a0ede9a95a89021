/// Why the proxy answered a request itself instead of passing on the app's response. Each
/// reason has the status it is answered with, the `heddle-error` value, and the RFC 9209
/// `Proxy-Status` error type.
public enum ProxyErrorReason: String, CaseIterable, Sendable {
    case noRoute = "no-route"
    case noEndpoints = "no-endpoints"
    case connectFailed = "connect-failed"
    case connectTimeout = "connect-timeout"
    case dnsFailed = "dns-failed"
    case upstreamReset = "upstream-reset"
    case upstreamTimeout = "upstream-timeout"
    case upstreamProtocolError = "upstream-protocol-error"
    case badRequest = "bad-request"
    case headersTooLarge = "headers-too-large"
    case unsupportedVersion = "unsupported-version"
    case notImplemented = "not-implemented"
    case requestHeaderTimeout = "request-header-timeout"

    /// The `heddle-error` header value.
    public var identifier: String { rawValue }

    public var status: Int {
        switch self {
        case .noRoute: 404
        case .noEndpoints, .dnsFailed: 503
        case .connectFailed, .upstreamReset, .upstreamProtocolError: 502
        case .connectTimeout, .upstreamTimeout: 504
        case .badRequest: 400
        case .headersTooLarge: 431
        case .unsupportedVersion: 505
        case .notImplemented: 501
        case .requestHeaderTimeout: 408
        }
    }

    /// The RFC 9209 error type for `Proxy-Status`.
    public var proxyStatusError: String {
        switch self {
        case .noRoute: "destination_not_found"
        case .noEndpoints: "destination_unavailable"
        case .connectFailed: "connection_refused"
        case .connectTimeout: "connection_timeout"
        case .dnsFailed: "dns_error"
        case .upstreamReset: "connection_terminated"
        case .upstreamTimeout: "http_response_timeout"
        case .upstreamProtocolError: "http_protocol_error"
        case .badRequest, .unsupportedVersion, .notImplemented, .requestHeaderTimeout: "http_request_error"
        case .headersTooLarge: "http_request_error"
        }
    }

    public var reasonPhrase: String {
        switch status {
        case 400: "Bad Request"
        case 404: "Not Found"
        case 408: "Request Timeout"
        case 431: "Request Header Fields Too Large"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: "Error"
        }
    }
}

/// A failure the proxy reports to the client: the reason and a detail naming what failed
/// (the host, the endpoint, the parser's finding).
public struct ProxyFailure: Error, Sendable {
    public var reason: ProxyErrorReason
    public var details: String

    public init(_ reason: ProxyErrorReason, _ details: String) {
        self.reason = reason
        self.details = details
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
