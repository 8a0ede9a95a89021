import NIOCore
import NIOHPACK

/// A response the proxy makes itself on an HTTP/2 stream, explaining why. For plain HTTP/2:
/// the reason's status, `heddle-error`, `proxy-status` and a one-line text body. For gRPC: a
/// trailers-only response (`:status 200`, `content-type: application/grpc`, `grpc-status`
/// mapped from the reason, `grpc-message` with the details), as gRPC clients expect.
struct HTTP2ErrorResponse {
    let headers: HPACKHeaders
    /// The text body; nil for gRPC, whose response is one header block that ends the stream.
    let body: ByteBuffer?

    init(_ failure: ProxyFailure, grpc: Bool) {
        let details = ProxyErrorResponse.printable(failure.details)
        var headers = HPACKHeaders()
        if grpc {
            headers.add(name: ":status", value: "200")
            headers.add(name: "content-type", value: "application/grpc")
            headers.add(name: "grpc-status", value: GRPCStatus(for: failure).headerValue)
            headers.add(name: "grpc-message", value: GRPCMessageEncoding.percentEncode("heddle: \(failure.reason.identifier): \(details)"))
            headers.add(name: "heddle-error", value: failure.reason.identifier)
            headers.add(name: "proxy-status", value: failure.proxyStatus)
            if let id = failure.requestID { headers.add(name: FailureLog.requestIDHeader, value: id) }
            body = nil
        } else {
            let text = "heddle: \(failure.reason.identifier): \(details)\n"
            headers.add(name: ":status", value: String(failure.status))
            headers.add(name: "content-type", value: "text/plain; charset=utf-8")
            headers.add(name: "content-length", value: String(text.utf8.count))
            headers.add(name: "heddle-error", value: failure.reason.identifier)
            headers.add(name: "proxy-status", value: failure.proxyStatus)
            if let seconds = failure.retryAfterSeconds { headers.add(name: "retry-after", value: String(seconds)) }
            if let id = failure.requestID { headers.add(name: FailureLog.requestIDHeader, value: id) }
            body = ByteBuffer(string: text)
        }
        self.headers = headers
    }
}
