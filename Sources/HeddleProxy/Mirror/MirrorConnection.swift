import HeddleHTTP1
import NIOCore

/// An HTTP/1.1 connection from one event loop to a mirror endpoint: it sends one copy at a
/// time, frames the response only to find where it ends, and drops it. A connection the
/// response leaves reusable goes back to the mirror client's pool; any other is closed. Reads
/// never pause: nobody waits on a mirror's answer.
final class MirrorConnection: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let key: String
    private unowned let client: MirrorClient
    private var context: ChannelHandlerContext?
    /// The copy in progress; nil while idle.
    private var exchange: MirrorExchange?
    var isPooled = false
    var idleSince: UInt64 = 0

    private var parser = HTTP1HeadParser(limits: HTTP1Limits(maxHeadBytes: 64 * 1024, maxHeaderCount: 200))
    private var fields: [HTTP1Field] = []
    /// Response bytes not yet framed.
    private var buffer: ByteBuffer?
    /// The response body's framer, once its head has arrived.
    private var body: HTTP1BodyFramer?
    private var status = 0
    private var isHead = false
    private var keepAlive = false
    /// The whole request has been written: a response that ends before it has left the
    /// connection in an unknown state.
    private var requestWritten = false

    init(key: String, client: MirrorClient) {
        self.key = key
        self.client = client
    }

    var isReusable: Bool { context?.channel.isActive == true }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        fail("the connection was closed")
    }

    /// Sends `bytes`, a whole request, for `exchange`.
    func start(_ exchange: MirrorExchange, bytes: ByteBuffer, isHead: Bool) {
        guard let context, context.channel.isActive else {
            exchange.finish(status: nil, failure: "the connection to \(key) closed")
            return
        }
        self.exchange = exchange
        exchange.carried(by: .connection(self))
        self.isHead = isHead
        parser.reset()
        buffer = nil
        body = nil
        status = 0
        keepAlive = false
        requestWritten = false
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(bytes)).whenSuccess {
            bound.value.requestWritten = true
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        guard exchange != nil else {
            // Bytes on an idle connection answer nothing: the connection cannot be trusted.
            close()
            return
        }
        if buffer == nil || buffer!.readableBytes == 0 {
            buffer = incoming
        } else {
            buffer!.writeBuffer(&incoming)
        }
        frameResponse()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if isPooled { client.remove(self) }
        if exchange != nil, let body, body.canEndAtClose {
            // A response whose body ends at close has ended.
            complete(reusable: false)
        } else {
            fail("\(key) closed the connection before the response ended")
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail("connection error: \(error)")
        close()
    }

    /// The exchange timed out: the connection, in an unknown state, is closed.
    func abort() {
        exchange = nil
        close()
    }

    func close() {
        context?.close(promise: nil)
    }

    private func frameResponse() {
        while exchange != nil, var bytes = buffer {
            if var framer = body {
                switch framer.advance(over: bytes) {
                case .inProgress(let consumed):
                    body = framer
                    bytes.moveReaderIndex(forwardBy: consumed)
                    buffer = nil
                    return
                case .finished(let consumed):
                    body = framer
                    bytes.moveReaderIndex(forwardBy: consumed)
                    complete(reusable: keepAlive && requestWritten && bytes.readableBytes == 0)
                    return
                case .error(let error):
                    fail("invalid response body from \(key): \(error.reason)")
                    close()
                    return
                }
            }
            switch parser.parseResponse(bytes, requestMethod: isHead ? .head : .get, fields: &fields) {
            case .needMoreBytes:
                return
            case .error(let error):
                fail("invalid response from \(key): \(error.reason)")
                close()
                return
            case .head(let head, let consumed):
                bytes.moveReaderIndex(forwardBy: consumed)
                buffer = bytes
                if head.isInterim {
                    parser.reset()
                    continue
                }
                status = head.statusCode
                keepAlive = head.keepAlive && !head.isUpgrade
                body = HTTP1BodyFramer(framing: head.bodyFraming, limits: parser.limits)
                if head.isUpgrade || body?.isFinished == true {
                    complete(reusable: keepAlive && requestWritten && bytes.readableBytes == 0)
                    return
                }
            }
        }
    }

    /// The response ended: the copy was answered.
    private func complete(reusable: Bool) {
        guard let exchange else { return }
        self.exchange = nil
        buffer = nil
        body = nil
        exchange.finish(status: status, failure: nil)
        if reusable {
            client.release(self)
        } else {
            close()
        }
    }

    private func fail(_ details: String) {
        guard let exchange else { return }
        self.exchange = nil
        buffer = nil
        exchange.finish(status: nil, failure: details)
    }
}
