import HeddleCore
import Logging
import NIOCore
import NIOHTTP2
import Prometheus

/// The proxy's end of one HTTP/2 client connection. Added as the connection's handler, it puts
/// the HTTP/2 codec (with a stream per request, each served by an `HTTP2StreamProxyHandler`)
/// and nio-http2's connection-management handler in front of itself. It counts the connection
/// for draining and metrics, closes it when it has had no stream for `idleTimeout`, and on
/// drain (SIGTERM) starts a graceful close: GOAWAY, then close once the streams in flight end.
final class HTTP2ServerConnectionHandler: ChannelInboundHandler, DeadlineHolder {
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
    private var openStreams = 0
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
        let delegate = HTTP2StreamCountingDelegate(
            management: management.http2StreamDelegate, connection: NIOLoopBound(self, eventLoop: context.eventLoop))
        let loop = self.loop
        let listener = self.listener
        let logger = self.logger
        let peer = self.peer.map { NIOLoopBound($0, eventLoop: context.eventLoop) }
        let codec = NIOHTTP2Handler(
            mode: .server, eventLoop: context.eventLoop,
            connectionConfiguration: configuration.connection, streamConfiguration: configuration.stream,
            streamDelegate: delegate
        ) { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandler(HTTP2StreamProxyHandler(loop: loop, listener: listener, logger: logger, peer: peer?.value))
            }
        }
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
        release()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Connection-level frames (SETTINGS, PING, GOAWAY) are the codec's business.
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
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

    func streamOpened() {
        openStreams += 1
        if deadlineKind == .idle { deadline = .max }
    }

    func streamClosed() {
        openStreams = max(0, openStreams - 1)
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
