import NIOCore
import NIOHPACK
import NIOHTTP2

/// What a stream on a pooled HTTP/2 connection reports to whoever uses it: the downstream
/// HTTP/2 stream it relays (`HTTP2StreamProxyHandler`), or an HTTP/1.1 exchange carried over
/// HTTP/2 to another Heddle proxy (`HTTP1ToHTTP2Bridge`).
protocol HTTP2UpstreamStreamOwner: AnyObject {
    func upstreamHeaders(_ headers: HPACKHeaders, endStream: Bool)
    func upstreamData(_ data: ByteBuffer, endStream: Bool)
    func upstreamReadComplete()
    func upstreamWritabilityChanged(_ writable: Bool)
    /// The endpoint reset the stream.
    func upstreamReset(_ code: HTTP2ErrorCode)
    /// The stream or its connection closed before the exchange ended.
    func upstreamClosed()
    /// The endpoint broke the protocol on this stream.
    func upstreamFailed(_ failure: ProxyFailure)
}

/// One stream on a pooled HTTP/2 connection to an endpoint, lent to one downstream stream:
/// frames in both directions pass through as they are (trailers and `grpc-status` untouched);
/// a reset is reported to the owner with its error code. The stream is a slot in the
/// connection's `HTTP2StreamTable`, not a channel of its own.
final class HTTP2UpstreamStreamHandler: HTTP2StreamEvents, HTTP2UpstreamLeg {
    /// The downstream stream using this one; nil once the exchange is over.
    var owner: (any HTTP2UpstreamStreamOwner)?
    /// The connection whose stream slot this stream holds, released when it closes.
    private var connection: HTTP2UpstreamConnection?
    private var slot: HTTP2StreamSlot!

    init(owner: any HTTP2UpstreamStreamOwner, connection: HTTP2UpstreamConnection, table: HTTP2StreamTable) {
        self.owner = owner
        self.connection = connection
        slot = table.openStream(events: self)
    }

    /// Gives the stream slot back to the connection; safe to call more than once.
    private func releaseSlot() {
        connection?.streamClosed()
        connection = nil
    }

    // MARK: HTTP2StreamEvents

    func streamRead(_ payload: HTTP2Frame.FramePayload) {
        switch payload {
        case .headers(let headers):
            owner?.upstreamHeaders(headers.headers, endStream: headers.endStream)
        case .data(let data):
            if case .byteBuffer(let buffer) = data.data {
                owner?.upstreamData(buffer, endStream: data.endStream)
            }
        case .rstStream(let code):
            if let owner {
                self.owner = nil
                owner.upstreamReset(code)
            }
        default:
            break
        }
    }

    func streamReadComplete() {
        owner?.upstreamReadComplete()
    }

    func streamWritabilityChanged(_ writable: Bool) {
        owner?.upstreamWritabilityChanged(writable)
    }

    func streamClosed(reset: HTTP2ErrorCode?) {
        releaseSlot()
        guard let owner else { return }
        self.owner = nil
        if let error = slot.codecError {
            owner.upstreamFailed(ProxyFailure(.upstreamProtocolError, "HTTP/2 stream error from the endpoint: \(error)"))
        } else if let reset {
            owner.upstreamReset(reset)
        } else {
            owner.upstreamClosed()
        }
    }

    // MARK: HTTP2UpstreamLeg

    func sendHeaders(_ headers: HPACKHeaders, endStream: Bool) {
        slot.write(.headers(.init(headers: headers, endStream: endStream)))
    }

    func sendData(_ data: ByteBuffer, endStream: Bool) {
        slot.write(.data(.init(data: .byteBuffer(data), endStream: endStream)))
    }

    func flush() {
        slot.flush()
    }

    var isWritable: Bool { slot.isWritable }

    func setReadsPaused(_ paused: Bool) {
        slot.setReadsPaused(paused)
    }

    func cancel() {
        owner = nil
        // An open stream is reset (CANCEL); its slot on the connection is free at once.
        slot.reset(.cancel)
        releaseSlot()
    }

    func finish() {
        owner = nil
        slot.setReadsPaused(false)
    }
}
