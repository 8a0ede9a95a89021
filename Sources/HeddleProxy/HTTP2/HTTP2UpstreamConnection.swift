import Logging
import NIOCore
import NIOHTTP2
import NIOSSL
import NIOTLS
import Prometheus

/// One HTTP/2 connection (prior knowledge; over mutual TLS to a mesh peer) from this event
/// loop to one endpoint, multiplexing the streams of many downstream requests. It sits after
/// the HTTP/2 codec, drives the streams' frames through its `HTTP2StreamTable`, and watches
/// the connection: the peer's `SETTINGS_MAX_CONCURRENT_STREAMS`, `GOAWAY` (no new streams; the
/// ones in flight finish) and the close.
final class HTTP2UpstreamConnection: HTTP2StreamTableOwner {
    typealias InboundIn = HTTP2Frame

    enum State {
        case connecting
        case ready
        /// The peer sent GOAWAY, or the pool retired it: streams in flight finish, no new ones.
        case goingAway
        case closed
    }

    let key: String
    private unowned let pool: HTTP2ConnectionPool
    private let logger: Logger
    private(set) var state = State.connecting
    private(set) var table: HTTP2StreamTable?
    private var context: ChannelHandlerContext?
    /// Streams open or being opened on this connection.
    private(set) var openStreams = 0
    /// The peer's limit on concurrent streams (100 until its SETTINGS say otherwise).
    private(set) var maxStreams = 100
    private(set) var idleSince: UInt64 = 0
    /// Streams asked for while connecting, opened once connected (or failed).
    /// Why the connection could not be made, for streams asked for after it failed.
    private var failure: ProxyFailure?
    private var waiting: [(Result<HTTP2StreamTable, ProxyFailure>) -> Void] = []

    /// For a mesh peer: the handshake's check of its identity, and where handshakes are
    /// counted. Such a connection is ready once the handshake completes, not at TCP connect.
    private let tls: (check: PeerCheck, metrics: ProxyMetrics)?

    init(key: String, pool: HTTP2ConnectionPool, logger: Logger, tls: (check: PeerCheck, metrics: ProxyMetrics)? = nil) {
        self.key = key
        self.pool = pool
        self.logger = logger
        self.tls = tls
    }

    /// Whether another stream may be opened on this connection now or once it connects.
    var acceptsStreams: Bool {
        (state == .connecting || state == .ready) && openStreams < maxStreams && table?.canOpenStreams != false
    }

    func attach(table: HTTP2StreamTable) {
        self.table = table
    }

    /// Reserves a stream slot and calls `body` with the connection's stream table once the
    /// connection is up (at once when it is), or with the failure to connect.
    func reserveStream(_ body: @escaping (Result<HTTP2StreamTable, ProxyFailure>) -> Void) {
        openStreams += 1
        switch state {
        case .ready:
            if let table { body(.success(table)) } else { body(.failure(ProxyFailure(.upstreamReset, "connection to \(key) is gone"))) }
        case .connecting:
            waiting.append(body)
        case .goingAway, .closed:
            body(.failure(failure ?? ProxyFailure(.upstreamReset, "connection to \(key) is closing")))
        }
    }

    /// A stream on this connection closed (or was never opened): its slot is free again.
    func streamClosed() {
        openStreams = max(0, openStreams - 1)
        if openStreams == 0 {
            idleSince = NIODeadline.now().uptimeNanoseconds
            if state == .goingAway { close() }
        }
    }

    func connected() {
        guard state == .connecting else { return }
        state = .ready
        idleSince = NIODeadline.now().uptimeNanoseconds
        let waiters = waiting
        waiting = []
        for waiter in waiters {
            if let table { waiter(.success(table)) } else { waiter(.failure(ProxyFailure(.upstreamReset, "connection to \(key) is gone"))) }
        }
    }

    func connectFailed(_ failure: ProxyFailure) {
        state = .closed
        self.failure = failure
        pool.remove(self)
        let waiters = waiting
        waiting = []
        for waiter in waiters { waiter(.failure(failure)) }
    }

    /// No new streams; closes once the ones in flight are done. (A connection still connecting
    /// cannot have been sent GOAWAY nor be idle, so only a ready one retires.)
    func retire() {
        guard state == .ready else { return }
        state = .goingAway
        pool.remove(self)
        if openStreams == 0 { close() }
    }

    func close() {
        context?.close(promise: nil)
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        table?.attach(context)
    }

    /// The TCP connection is up, and the codec ahead has sent the connection preface (a
    /// stream's frames may only follow it): ready now, or once the TLS handshake completes.
    func channelActive(context: ChannelHandlerContext) {
        if tls == nil { connected() }
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .settings(.settings(let settings)):
            for setting in settings where setting.parameter == .maxConcurrentStreams {
                maxStreams = setting.value
            }
        case .goAway:
            retire()
        default:
            // Streams' frames; the peer may not open streams (push is off): refused.
            table?.read(frame) { _ in nil }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls, let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            tls.metrics.tlsOutboundAccepted.increment()
            connected()
        }
        table?.userEvent(event)
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        let wasConnecting = state == .connecting
        state = .closed
        pool.remove(self)
        if wasConnecting {
            connectFailed(ProxyFailure(.upstreamReset, "\(key) closed the connection"))
        }
        table?.connectionClosed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let tls, state == .connecting {
            // The mutual-TLS handshake failed: the waiting streams learn why.
            let reason = tls.check.outboundFailed(error, endpoint: key, metrics: tls.metrics, logger: logger)
            connectFailed(ProxyFailure(.upstreamTLSFailed, "mutual TLS with \(key) failed: \(reason)"))
            context.close(promise: nil)
            return
        }
        // A stream error: the codec has reset that stream, whose owner hears why.
        if table?.streamError(error) == true { return }
        // A connection-level protocol error: the codec has sent GOAWAY; streams in flight see
        // the close.
        logger.notice("HTTP/2 upstream connection error", metadata: ["endpoint": "\(key)", "error": "\(error)"])
        state = .closed
        pool.remove(self)
        context.close(promise: nil)
    }
}
