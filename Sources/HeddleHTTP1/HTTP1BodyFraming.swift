/// How a message's body is delimited (RFC 9112 §6.3), decided while parsing its head.
public enum HTTP1BodyFraming: Sendable, Hashable {
    /// No body: a request without Content-Length or Transfer-Encoding, or a response to HEAD,
    /// a 1xx, 204 or 304 response, a 101 or a 2xx response to CONNECT.
    case none
    /// A body of exactly this many bytes.
    case contentLength(UInt64)
    /// A chunked body, framed by `ChunkedFramer`.
    case chunked
    /// A response body that ends when the server closes the connection.
    case untilClose
}
