import NIOCore
import NIOHPACK
import NIOHTTP1

/// The upstream end of an HTTP/2 stream whose backend speaks HTTP/1.1: a connection to one
/// endpoint with NIOHTTP1's client codec, lent to one stream at a time and pooled per event
/// loop between exchanges. The stream's header blocks become an HTTP/1.1 request (chunked
/// when the client gave no length, trailers carried), and the response comes back as HTTP/2
/// frames.
final class HTTP1TranslatingUpstreamHandler: ChannelInboundHandler, HTTP2UpstreamLeg {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let key: String
    private unowned let pool: HTTP1ClientPool
    /// The stream using this connection; nil while pooled.
    var owner: HTTP2StreamProxyHandler?
    var isPooled = false
    var idleSince: UInt64 = 0
    private var context: ChannelHandlerContext?
    private var isOpen = false
    private var readsPaused = false
    private var headSent = false
    private var requestEnded = false
    private var responseEnded = false
    private var keepAlive = true
    /// Between a 1xx head and its end: the final response is still to come.
    private var inInterim = false

    init(key: String, pool: HTTP1ClientPool) {
        self.key = key
        self.pool = pool
    }

    var isReusable: Bool { isOpen && context?.channel.isActive == true }

    /// Prepares the connection for a new exchange.
    func begin(owner: HTTP2StreamProxyHandler) {
        self.owner = owner
        headSent = false
        requestEnded = false
        responseEnded = false
        keepAlive = true
        inInterim = false
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        isOpen = context.channel.isActive
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        isOpen = false
    }

    func channelActive(context: ChannelHandlerContext) {
        isOpen = true
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let owner else {
            // Bytes from an idle connection belong to no request: the connection is unusable.
            close()
            return
        }
        switch unwrapInboundIn(data) {
        case .head(let head):
            if head.status.code / 100 == 1 {
                inInterim = true
                // 101 has no HTTP/2 equivalent; other interim responses (100, 103) pass on.
                if head.status != .switchingProtocols {
                    owner.upstreamHeaders(HTTP1MessageTranslation.responseHeaders(head), endStream: false)
                }
                return
            }
            // Interim heads are followed by the final one without an `.end` of their own.
            inInterim = false
            keepAlive = head.isKeepAlive
            owner.upstreamHeaders(HTTP1MessageTranslation.responseHeaders(head), endStream: false)
        case .body(let buffer):
            owner.upstreamData(buffer, endStream: false)
        case .end(let trailers):
            if inInterim {
                inInterim = false
                return
            }
            responseEnded = true
            if let trailers, !trailers.isEmpty {
                owner.upstreamHeaders(HTTP1MessageTranslation.trailers(trailers), endStream: true)
            } else {
                owner.upstreamData(ByteBuffer(), endStream: true)
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        owner?.upstreamReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        owner?.upstreamWritabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        isOpen = false
        if isPooled {
            pool.remove(self)
        }
        if let owner {
            self.owner = nil
            owner.upstreamClosed()
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        isOpen = false
        if let owner {
            self.owner = nil
            owner.upstreamFailed(ProxyFailure(.upstreamProtocolError, "invalid response from \(key): \(error)"))
        }
        context.close(promise: nil)
    }

    // MARK: HTTP2UpstreamLeg

    func sendHeaders(_ headers: HPACKHeaders, endStream: Bool) {
        guard let context, !requestEnded else { return }
        if !headSent {
            headSent = true
            context.write(wrapOutboundOut(.head(HTTP1MessageTranslation.requestHead(headers, endStream: endStream))), promise: nil)
            if endStream { end(trailers: nil) }
        } else {
            end(trailers: HTTP1MessageTranslation.trailers(headers))
        }
    }

    func sendData(_ data: ByteBuffer, endStream: Bool) {
        guard let context, !requestEnded else { return }
        if data.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(data))), promise: nil)
        }
        if endStream { end(trailers: nil) }
    }

    private func end(trailers: HTTPHeaders?) {
        requestEnded = true
        context?.write(wrapOutboundOut(.end(trailers)), promise: nil)
    }

    func flush() {
        context?.flush()
    }

    var isWritable: Bool { context?.channel.isWritable ?? false }

    func setReadsPaused(_ paused: Bool) {
        guard paused != readsPaused, let context else { return }
        readsPaused = paused
        try? context.channel.syncOptions?.setOption(.autoRead, value: !paused)
    }

    func cancel() {
        owner = nil
        close()
    }

    func finish() {
        owner = nil
        setReadsPaused(false)
        if requestEnded, responseEnded, keepAlive {
            pool.put(self, now: NIODeadline.now().uptimeNanoseconds)
        } else {
            close()
        }
    }

    func close() {
        isOpen = false
        context?.close(promise: nil)
    }
}
