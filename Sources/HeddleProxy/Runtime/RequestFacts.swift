import HeddleTracing

/// What one request at one hop came to, gathered by the HTTP/1 and HTTP/2 handlers when it
/// completes, only when something reads it: its span (tracing) and its tap event.
struct RequestFacts {
    var listener: String
    var method: String
    var path: String
    var host: String
    var status: Int
    var route: String?
    var backend: String?
    var endpoint: String?
    /// Attempts made (1: no retry); 0 when the proxy answered before sending.
    var attempts: Int
    var error: ProxyFailure?
    /// The calling workload's identity (inbound listener, mutual TLS).
    var clientIdentity: String?
    /// The identity the endpoint proved (outbound, mutual TLS to another proxy).
    var endpointIdentity: String? = nil
    /// `1.1` or `2`.
    var protocolVersion: String
    var grpc: Bool = false

    /// Spans are named `METHOD route` (else the listener), so a trace view groups them by
    /// route rather than by every distinct path.
    func span(trace: RequestTrace, start: UInt64, end: UInt64) -> SpanRecord {
        var attributes: [SpanAttribute] = [
            SpanAttribute("heddle.listener", listener),
            SpanAttribute("http.request.method", method),
            SpanAttribute("url.path", path),
            SpanAttribute("server.address", host),
            SpanAttribute("network.protocol.name", "http"),
            SpanAttribute("network.protocol.version", protocolVersion),
        ]
        if status > 0 { attributes.append(SpanAttribute("http.response.status_code", status)) }
        if grpc { attributes.append(SpanAttribute("rpc.system", "grpc")) }
        if let route { attributes.append(SpanAttribute("heddle.route", route)) }
        if let backend { attributes.append(SpanAttribute("heddle.backend", backend)) }
        if let endpoint { attributes.append(SpanAttribute("heddle.endpoint", endpoint)) }
        if attempts > 1 { attributes.append(SpanAttribute("heddle.retries", attempts - 1)) }
        if let clientIdentity { attributes.append(SpanAttribute("heddle.client_identity", clientIdentity)) }
        if let error {
            attributes.append(SpanAttribute("heddle.error", error.reason.identifier))
            attributes.append(SpanAttribute("error.type", error.reason.identifier))
        } else if status >= 500 {
            attributes.append(SpanAttribute("error.type", String(status)))
        }
        let kind: SpanRecord.Kind = listener == "outbound" ? .client : .server
        let message: String? = if let error { "\(error.reason.identifier): \(error.details)" } else if status >= 500 { "status \(status)" } else { nil }
        return SpanRecord(
            trace: trace, name: "\(method) \(route ?? listener)", kind: kind,
            startUnixNanos: start, endUnixNanos: end, attributes: attributes, errorMessage: message)
    }
}
