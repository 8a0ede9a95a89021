import NIOCore
import NIOHPACK

/// The upstream end of one proxied HTTP/2 stream, as the downstream stream handler drives it:
/// a stream on a pooled HTTP/2 connection, or an HTTP/1.1 exchange on a pooled connection.
/// Frames are queued with `send…` and leave on `flush()`; events come back to the owning
/// `HTTP2StreamProxyHandler`.
protocol HTTP2UpstreamLeg: AnyObject {
    /// The request header block first, then (once) a trailer block that ends the request.
    func sendHeaders(_ headers: HPACKHeaders, endStream: Bool)
    func sendData(_ data: ByteBuffer, endStream: Bool)
    func flush()
    /// Whether the upstream accepts more bytes now; when false, the client's stream is paused.
    var isWritable: Bool { get }
    /// Stops or resumes reading the response (backpressure from a slow client).
    func setReadsPaused(_ paused: Bool)
    /// The exchange is abandoned (the client reset its stream, a timeout, a proxy error): the
    /// upstream stream is reset or the connection closed; no more events are delivered.
    func cancel()
    /// The exchange ended on both sides: the leg is released (its connection pooled when it
    /// can carry another request).
    func finish()
}
