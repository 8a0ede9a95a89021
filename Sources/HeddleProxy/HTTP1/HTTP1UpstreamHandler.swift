import NIOCore

/// The upstream end of an HTTP/1 exchange: a connection to one endpoint, lent to one
/// downstream handler at a time and pooled per event loop between exchanges. It does no
/// parsing itself; it hands every byte to the downstream handler that owns it, so one state
/// machine sees both directions.
///
/// Not a `RemovableChannelHandler`: it stays in its pipeline until the channel closes, which
/// `UnretainedContext` relies on (its context is used without a reference of its own).
final class HTTP1UpstreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let poolKey: EndpointPoolKey
    private unowned let loop: LoopContext
    /// Set from `handlerAdded` to `handlerRemoved`: each write costs no reference count.
    private var context = UnretainedContext()
    /// The exchange using this connection; nil while pooled.
    var owner: HTTP1ProxyHandler?
    var isPooled = false
    var idleSince: UInt64 = 0
    /// False once the connection must not carry another request (closed, or left in an
    /// unknown state).
    private(set) var isOpen = false
    private var readsPaused = false
    /// The service whose circuit breaker counts this connection; its slot is given back when
    /// the connection closes (or fails to open).
    private var countedService: String?

    init(poolKey: EndpointPoolKey, loop: LoopContext, service: String? = nil) {
        self.poolKey = poolKey
        self.loop = loop
        countedService = service
    }

    /// Gives back the connection's breaker slot, once.
    func releaseConnectionSlot() {
        guard let service = countedService else { return }
        countedService = nil
        loop.releaseConnectionSlot(service: service)
    }

    /// Open as far as this handler knows, without asking the channel (an existential call and
    /// four reference counts of NIO's lifecycle manager): `close()` and `channelInactive` clear
    /// it. Between NIO's close and its `channelInactive` it fails the pending writes' promises
    /// and completes the close promise; Heddle passes none, so no Heddle code runs in that gap.
    /// A connection closed before it was active gets no `channelInactive`, but is never pooled.
    var isReusable: Bool {
        assert(!isOpen || context.value?.channel.isActive != false, "an upstream connection marked open whose channel is not")
        return isOpen
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context.set(context)
        isOpen = context.channel.isActive
        isWritable = context.channel.isWritable
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context.set(nil)
        owner = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        isOpen = true
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        if let owner {
            owner.upstreamRead(buffer)
        } else {
            // Bytes from an idle connection belong to no request: the connection is unusable.
            close()
        }
    }

    /// Ends here, as on the client side: nothing after this handler wants it.
    func channelReadComplete(context: ChannelHandlerContext) {}

    func channelInactive(context: ChannelHandlerContext) {
        isOpen = false
        releaseConnectionSlot()
        if isPooled {
            loop.pool.remove(self)
        }
        if let owner {
            self.owner = nil
            owner.upstreamClosed()
        }
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        isWritable = context.channel.isWritable
        owner?.upstreamWritabilityChanged(isWritable)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        close()
    }

    /// Queues bytes; `flush()` sends everything queued in one system call.
    func write(_ buffer: ByteBuffer) {
        context.write(wrapOutboundOut(buffer))
    }

    func flush() {
        context.flush()
    }

    func writeAndFlush(_ buffer: ByteBuffer) {
        context.writeAndFlush(wrapOutboundOut(buffer))
    }

    /// Whether the connection takes more writes, kept from its writability events.
    private(set) var isWritable = false

    /// Stops or resumes reading responses (backpressure from a slow client).
    func setReadsPaused(_ paused: Bool) {
        guard paused != readsPaused, let context = context.value else { return }
        readsPaused = paused
        try? context.channel.syncOptions?.setOption(.autoRead, value: !paused)
    }

    func close() {
        isOpen = false
        context.value?.close(promise: nil)
    }
}
