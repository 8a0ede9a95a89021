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
/// a reset is reported to the owner with its error code.
final class HTTP2UpstreamStreamHandler: ChannelInboundHandler, HTTP2UpstreamLeg {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    /// The downstream stream using this one; nil once the exchange is over.
    var owner: (any HTTP2UpstreamStreamOwner)?
    /// The connection whose stream slot this stream holds, released when it closes.
    private var connection: HTTP2UpstreamConnection?
    private var context: ChannelHandlerContext?
    private var readsPaused = false

    init(owner: any HTTP2UpstreamStreamOwner, connection: HTTP2UpstreamConnection) {
        self.owner = owner
        self.connection = connection
    }

    /// Gives the stream slot back to the connection; safe to call more than once.
    func releaseSlot() {
        connection?.streamClosed()
        connection = nil
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        releaseSlot()
        if let owner {
            self.owner = nil
            owner.upstreamClosed()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
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

    func channelReadComplete(context: ChannelHandlerContext) {
        owner?.upstreamReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        owner?.upstreamWritabilityChanged(context.channel.isWritable)
    }

    func channelInactive(context: ChannelHandlerContext) {
        releaseSlot()
        if let owner {
            self.owner = nil
            owner.upstreamClosed()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let owner else { return }
        self.owner = nil
        if let closed = error as? NIOHTTP2Errors.StreamClosed {
            owner.upstreamReset(closed.errorCode)
        } else {
            owner.upstreamFailed(ProxyFailure(.upstreamProtocolError, "HTTP/2 stream error from the endpoint: \(error)"))
            context.close(promise: nil)
        }
    }

    // MARK: HTTP2UpstreamLeg

    func sendHeaders(_ headers: HPACKHeaders, endStream: Bool) {
        context?.write(wrapOutboundOut(.headers(.init(headers: headers, endStream: endStream))), promise: nil)
    }

    func sendData(_ data: ByteBuffer, endStream: Bool) {
        context?.write(wrapOutboundOut(.data(.init(data: .byteBuffer(data), endStream: endStream))), promise: nil)
    }

    func flush() {
        context?.flush()
    }

    var isWritable: Bool { context?.channel.isWritable ?? false }

    func setReadsPaused(_ paused: Bool) {
        guard paused != readsPaused, let context else { return }
        readsPaused = paused
        try? context.channel.syncOptions?.setOption(.autoRead, value: !paused)
        if !paused { context.read() }
    }

    func cancel() {
        owner = nil
        // Closing an open stream channel sends RST_STREAM(CANCEL).
        context?.close(promise: nil)
    }

    func finish() {
        owner = nil
        setReadsPaused(false)
    }
}
