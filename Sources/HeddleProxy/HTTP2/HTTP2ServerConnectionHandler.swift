import HeddleCore
import Logging
import NIOCore
import NIOHTTP2
import Prometheus

/// The proxy's end of one HTTP/2 client connection. Added as the connection's handler, it puts
/// the HTTP/2 codec (without a stream multiplexer) and nio-http2's connection-management
/// handler in front of itself, and drives the streams through an `HTTP2StreamTable`, each
/// request served by an `HTTP2StreamProxyHandler`. It counts the connection
/// for draining and metrics, closes it when it has had no stream for `idleTimeout`, and on
/// drain (SIGTERM) starts a graceful close: GOAWAY, then close once the streams in flight end.
final class HTTP2ServerConnectionHandler: HTTP2StreamTableOwner, DeadlineHolder {
    typealias InboundIn = HTTP2Frame

    private enum DeadlineKind {
        case idle
        /// GOAWAY sent: the connection closes when no stream is left (checked every sweep, in
        /// case the client never acknowledges the GOAWAY's PING).
        case quiescing
    }

    private let loop: LoopContext
    private let listener: String
    private let logger: Logger
    private var context: ChannelHandlerContext?
    private(set) var table: HTTP2StreamTable?
    private var localPort = 0
    private var counted = false
    private var quiescing = false
    private(set) var deadline: UInt64 = .max
    private var deadlineKind = DeadlineKind.idle
    var sweepSlot = -1

    /// The mesh peer's handshake, for the streams' `heddle-client-id`.
    private let peer: PeerCheck?

    init(loop: LoopContext, listener: String, logger: Logger, peer: PeerCheck? = nil) {
        self.loop = loop
        self.peer = peer
        self.listener = listener
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let http = loop.snapshot.http
        let configuration = HTTP2Configuration.server(http)
        let management = NIOHTTP2ServerConnectionManagementHandler(
            eventLoop: context.eventLoop,
            configuration: .init(maxIdleTime: nil, maxAge: nil, maxGraceTime: .nanoseconds(http.drainGracePeriod.nanosecondsClamped), keepalive: nil))
        // The management handler follows the streams from the codec's events.
        let table = HTTP2StreamTable(mode: .server, eventLoop: context.eventLoop)
        let codec = NIOHTTP2Handler(
            mode: .server, frameDelegate: table,
            connectionConfiguration: configuration.connection, streamConfiguration: configuration.stream)
        self.table = table
        table.attach(context)
        localPort = context.channel.localAddress?.port ?? 0
        do {
            try context.pipeline.syncOperations.addHandler(FlushCoalescingHandler(), position: .before(self))
            try context.pipeline.syncOperations.addHandler(codec, position: .before(self))
            try context.pipeline.syncOperations.addHandler(management, position: .before(self))
        } catch {
            logger.error("cannot set up HTTP/2", metadata: ["error": "\(error)"])
            context.close(promise: nil)
            return
        }
        counted = true
        loop.sweeper.add(self)
        loop.activeConnections += 1
        loop.metrics.downstreamConnections.increment()
        if loop.draining {
            drain()
        } else {
            armIdle()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        release()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        table?.connectionClosed()
        release()
        context.fireChannelInactive()
    }

    /// Streams' frames go to their handlers; a new stream gets one. Connection-level frames
    /// (SETTINGS, PING, GOAWAY) are the codec's business.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        table?.read(unwrapInboundIn(data)) { slot in
            streamOpened()
            return HTTP2StreamProxyHandler(
                stream: slot, loop: loop, listener: listener, localPort: localPort, logger: logger, peer: peer)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        table?.userEvent(event)
        if event is StreamClosedEvent { streamClosed() }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A stream error: the codec has reset that stream, whose handler drops the exchange.
        if table?.streamError(error) == true {
            let described = (error as? NIOHTTP2Errors.StreamError).map { "stream \($0.streamID): \($0.baseError)" } ?? "\(error)"
            logger.debug("HTTP/2 stream error", metadata: ["listener": "\(listener)", "error": "\(described)"])
            return
        }
        // The codec has already answered a protocol error with GOAWAY where one applies.
        logger.info("HTTP/2 connection error; closing", metadata: ["listener": "\(listener)", "error": "\(error)"])
        context.close(promise: nil)
    }

    private func release() {
        guard counted else { return }
        counted = false
        loop.sweeper.remove(self)
        loop.activeConnections -= 1
        loop.metrics.downstreamConnections.decrement()
    }

    // MARK: Streams

    private var openStreams: Int { table?.count ?? 0 }

    private func streamOpened() {
        if deadlineKind == .idle { deadline = .max }
    }

    private func streamClosed() {
        if openStreams == 0, deadlineKind == .idle { armIdle() }
    }

    // MARK: Deadlines and drain

    private func armIdle() {
        deadlineKind = .idle
        deadline = NIODeadline.now().uptimeNanoseconds &+ UInt64(loop.snapshot.http.idleTimeout.nanosecondsClamped)
    }

    func deadlinePassed(now: UInt64) {
        deadline = .max
        switch deadlineKind {
        case .idle:
            guard openStreams == 0 else { return }
            logger.debug("HTTP/2 connection idle; closing", metadata: ["listener": "\(listener)"])
            quiesce(now: now)
        case .quiescing:
            if openStreams == 0 {
                context?.close(promise: nil)
            } else {
                deadline = now &+ UInt64(TimeoutSweeper.tick.nanoseconds)
            }
        }
    }

    func drain() {
        quiesce(now: NIODeadline.now().uptimeNanoseconds)
    }

    /// Starts the graceful close: GOAWAY (and the PING that confirms it) from the
    /// connection-management handler; the connection closes once no stream is left.
    private func quiesce(now: UInt64) {
        guard !quiescing, let context else { return }
        quiescing = true
        deadlineKind = .quiescing
        // Give the client a moment to acknowledge before closing an idle connection.
        deadline = now &+ 1_000_000_000
        context.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
    }
}
