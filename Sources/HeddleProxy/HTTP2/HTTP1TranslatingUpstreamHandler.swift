import HeddleHTTP1
import NIOCore
import NIOHPACK
import NIOHTTP2

/// The upstream end of an HTTP/2 stream whose backend speaks HTTP/1.1: a connection to one
/// endpoint, lent to one stream at a time and pooled per event loop between exchanges. The
/// stream's header blocks become an HTTP/1.1 request written as bytes (chunked when the client
/// gave no length, trailers carried), and the response is framed by the HTTP/1 path's own
/// parser (`HTTP1HeadParser`, `HTTP1BodyFramer`) and handed back as HTTP/2 frames: body bytes
/// as slices of what was read, de-chunked, with chunked trailers as a trailer block. (NIOHTTP1's
/// client codec here cost about a third of a server-side sidecar's CPU per request.)
final class HTTP1TranslatingUpstreamHandler: ChannelInboundHandler, HTTP2UpstreamLeg {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Response {
        /// Waiting for the head (after any interim ones).
        case head
        case body(HTTP1BodyFramer, chunked: Bool)
        case done
    }

    let key: String
    private unowned let pool: HTTP1ClientPool
    /// The stream using this connection; nil while pooled.
    var owner: HTTP2StreamProxyHandler?
    var isPooled = false
    var idleSince: UInt64 = 0
    private var context: ChannelHandlerContext?
    private var isOpen = false
    private var readsPaused = false

    // The request.
    private var headSent = false
    private var requestChunked = false
    private var requestEnded = false
    private var requestMethod = HTTPMethodKind.get

    // The response.
    private var parser: HTTP1HeadParser
    private var fields: [HTTP1Field] = []
    private var response = Response.head
    private var dechunker = ChunkedBodyDecoder()
    /// Bytes read and not yet framed (part of a head, or a read's remainder).
    private var pending: ByteBuffer?
    private var keepAlive = true

    init(key: String, pool: HTTP1ClientPool, limits: HTTP1Limits) {
        self.key = key
        self.pool = pool
        parser = HTTP1HeadParser(limits: limits)
    }

    var isReusable: Bool { isOpen && context?.channel.isActive == true }

    /// Prepares the connection for a new exchange.
    func begin(owner: HTTP2StreamProxyHandler) {
        self.owner = owner
        headSent = false
        requestChunked = false
        requestEnded = false
        requestMethod = .get
        parser.reset()
        response = .head
        dechunker = ChunkedBodyDecoder()
        pending = nil
        keepAlive = true
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
        var bytes = unwrapInboundIn(data)
        guard owner != nil else {
            // Bytes from an idle connection belong to no request: the connection is unusable.
            close()
            return
        }
        guard !responseEnded else {
            // Bytes after the response ended: nothing was asked for them.
            keepAlive = false
            return
        }
        if pending == nil {
            pending = bytes
        } else {
            pending!.writeBuffer(&bytes)
        }
        processResponse()
    }

    /// Frames what has been read: the head (interim ones passed on), then the body, for as
    /// long as the owner is there to take it.
    private func processResponse() {
        while let owner, var buffer = pending {
            switch response {
            case .head:
                switch parser.parseResponse(buffer, requestMethod: requestMethod, fields: &fields) {
                case .needMoreBytes:
                    return
                case .error(let error):
                    pending = nil
                    fail(ProxyFailure(.upstreamProtocolError, "invalid response from \(key): \(error)"))
                    return
                case .head(let head, let consumed):
                    buffer.moveReaderIndex(forwardBy: consumed)
                    pending = buffer.readableBytes > 0 ? buffer : nil
                    if head.isInterim {
                        // 101 has no HTTP/2 equivalent, and the request asked for no upgrade.
                        guard head.statusCode != 101 else {
                            pending = nil
                            fail(ProxyFailure(.upstreamProtocolError, "\(key) switched protocols, which an HTTP/2 stream cannot carry"))
                            return
                        }
                        owner.upstreamHeaders(HTTP1MessageTranslation.responseHeaders(head), endStream: false)
                        continue
                    }
                    keepAlive = head.keepAlive
                    let framer = HTTP1BodyFramer(framing: head.bodyFraming, limits: parser.limits)
                    if framer.isFinished {
                        response = .done
                        owner.upstreamHeaders(HTTP1MessageTranslation.responseHeaders(head), endStream: true)
                    } else {
                        response = .body(framer, chunked: head.bodyFraming == .chunked)
                        owner.upstreamHeaders(HTTP1MessageTranslation.responseHeaders(head), endStream: false)
                    }
                }
            case .body(var framer, let chunked):
                let step = framer.advance(over: buffer)
                let consumed: Int
                let finished: Bool
                switch step {
                case .inProgress(let count):
                    (consumed, finished) = (count, false)
                case .finished(let count):
                    (consumed, finished) = (count, true)
                case .error(let error):
                    pending = nil
                    fail(ProxyFailure(.upstreamProtocolError, "invalid response body from \(key): \(error)"))
                    return
                }
                let piece = buffer.readSlice(length: consumed)!
                pending = buffer.readableBytes > 0 ? buffer : nil
                response = finished ? .done : .body(framer, chunked: chunked)
                if chunked {
                    deliverChunked(piece, finished: finished)
                } else if finished {
                    owner.upstreamData(piece, endStream: true)
                } else if piece.readableBytes > 0 {
                    owner.upstreamData(piece, endStream: false)
                }
                if !finished { return }
            case .done:
                // Bytes after the response: nothing was asked for them.
                pending = nil
                keepAlive = false
                return
            }
        }
    }

    /// De-chunks a validated piece of a chunked body; at its end, the trailers (if any) end the
    /// stream.
    private func deliverChunked(_ piece: ByteBuffer, finished: Bool) {
        _ = dechunker.decode(piece) { data in
            if data.readableBytes > 0 { self.owner?.upstreamData(data, endStream: false) }
        }
        guard finished, let owner = self.owner else { return }
        if dechunker.trailers.isEmpty {
            owner.upstreamData(ByteBuffer(), endStream: true)
        } else {
            owner.upstreamHeaders(HTTP1MessageTranslation.trailerBlock(dechunker.trailers), endStream: true)
        }
    }

    private var responseEnded: Bool {
        if case .done = response { true } else { false }
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
            if case .body(let framer, _) = response, framer.canEndAtClose {
                // A close-delimited body ends at the close.
                response = .done
                owner.upstreamData(ByteBuffer(), endStream: true)
            } else {
                self.owner = nil
                owner.upstreamClosed()
            }
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(ProxyFailure(.upstreamProtocolError, "connection to \(key) failed: \(error)"))
    }

    private func fail(_ failure: ProxyFailure) {
        isOpen = false
        if let owner {
            self.owner = nil
            owner.upstreamFailed(failure)
        }
        context?.close(promise: nil)
    }

    // MARK: HTTP2UpstreamLeg

    func sendHeaders(_ headers: HPACKHeaders, endStream: Bool) {
        guard let context, !requestEnded else { return }
        if !headSent {
            headSent = true
            guard let head = HTTP1MessageTranslation.writeRequestHead(headers, endStream: endStream) else {
                fail(ProxyFailure(.badRequest, "the request's :method or :path cannot be sent in an HTTP/1.1 request line"))
                return
            }
            switch headers.first(name: ":method") {
            case "HEAD": requestMethod = .head
            case "CONNECT": requestMethod = .connect
            default: requestMethod = .get
            }
            requestChunked = head.chunked
            context.write(wrapOutboundOut(head.bytes), promise: nil)
            if endStream { requestEnded = true }
        } else {
            // Trailers end the request: chunked trailers (dropped if the body had a length).
            requestEnded = true
            if requestChunked {
                var last = context.channel.allocator.buffer(capacity: 64)
                HTTP1MessageTranslation.writeLastChunk(trailers: headers, into: &last)
                context.write(wrapOutboundOut(last), promise: nil)
            }
        }
    }

    func sendData(_ data: ByteBuffer, endStream: Bool) {
        guard let context, headSent, !requestEnded else { return }
        if requestChunked {
            var bytes = context.channel.allocator.buffer(capacity: data.readableBytes + 16)
            HTTP1MessageTranslation.writeChunk(data, endStream: endStream, into: &bytes)
            if bytes.readableBytes > 0 { context.write(wrapOutboundOut(bytes), promise: nil) }
        } else if data.readableBytes > 0 {
            context.write(wrapOutboundOut(data), promise: nil)
        }
        if endStream { requestEnded = true }
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
        if requestEnded, responseEnded, keepAlive, pending == nil {
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
