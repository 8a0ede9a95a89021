import HeddleCore
import HeddlePolicy
import Logging
import NIOCore
import Prometheus
import NIOPosix
import NIOSSL
import NIOTLS

/// Relays an opaque TCP connection to an endpoint of the listener's TCP service, picked by the
/// service's balancer: bytes both ways unchanged, backpressure both ways, half-close passed on.
final class TCPProxyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let loop: LoopContext
    private let listener: String
    private let serviceName: String
    private let logger: Logger
    private var context: ChannelHandlerContext?
    private var upstream: TCPUpstreamHandler?
    private var waiting: ByteBuffer?
    private var metrics: TCPMetrics?
    private var backend = -1
    private var ticket: BalancerTicket?
    private var started: UInt64 = 0
    private var inputClosed = false
    /// On the inbound listener over mutual TLS: the handshake's check of the caller.
    private let peer: PeerCheck?
    private var began = false

    init(loop: LoopContext, listener: String, service: String, logger: Logger, peer: PeerCheck? = nil) {
        self.loop = loop
        self.listener = listener
        self.serviceName = service
        self.logger = logger
        self.peer = peer
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // A client may half-close right after its first bytes: with the TLS handshake still
        // being verified, a full close on that EOF would end the handshake.
        try? context.channel.syncOptions?.setOption(.allowRemoteHalfClosure, value: true)
        // Over TLS the caller is known once the handshake completes (a `tcp` listener adds
        // this handler before it): the connection starts then.
        if peer != nil, peer?.identity == nil { return }
        start(context: context)
    }

    private func start(context: ChannelHandlerContext) {
        guard !began else { return }
        began = true
        try? context.channel.syncOptions?.setOption(.allowRemoteHalfClosure, value: true)
        try? context.channel.syncOptions?.setOption(.autoRead, value: false)
        let snapshot = loop.snapshot
        if listener == "inbound", snapshot.inboundAuthorization != nil,
           let denied = loop.authorize(identity: peer?.identity, method: nil, path: nil, port: context.channel.localAddress?.port ?? 0, logger: logger) {
            refuse(denied.reason, denied.details)
            return
        }
        guard let index = snapshot.serviceIndex[serviceName] else {
            refuse(.noRoute, "no TCP service '\(serviceName)' is configured")
            return
        }
        backend = index
        let service = snapshot.services[index]
        let handles = loop.tcpMetrics(listener: listener, service: service.name == ProxySnapshot.inboundAppName ? "app" : service.name)
        metrics = handles
        handles.connections.increment()
        started = NIODeadline.now().uptimeNanoseconds
        let now = Instant(nanoseconds: started)
        guard let picked = loop.pickEndpoint(service: index, hash: nil, now: now), picked < service.endpoints.count else {
            refuse(.noEndpoints, "service '\(service.name)' has no endpoint available")
            return
        }
        ticket = loop.destinations[index].balancer.requestStarted(picked, now: now)
        let endpoint = service.endpoints[picked]
        // A mesh peer: mutual TLS, and the peer must prove the endpoint's identity.
        var tlsHandler: NIOSSLClientHandler?
        var check: PeerCheck?
        if endpoint.identity != nil {
            switch PeerCheck.outbound(loop.meshTLS, to: endpoint, eventLoop: context.eventLoop) {
            case .success(let made):
                (tlsHandler, check) = (made.handler, made.check)
            case .failure(let failure):
                refuse(failure.reason, failure.details)
                return
            }
        }
        let deferral = check.map { _ in DeferredInputClose() }
        let upstreamHandler = TCPUpstreamHandler(downstream: self, tls: check.map { ($0, loop.metrics, logger, endpoint.key) }, deferral: deferral)
        let boundDeferral = NIOLoopBound(deferral, eventLoop: context.eventLoop)
        let boundHandler = NIOLoopBound(upstreamHandler, eventLoop: context.eventLoop)
        let boundTLS = NIOLoopBound(tlsHandler, eventLoop: context.eventLoop)
        let boundSelf = NIOLoopBound(self, eventLoop: context.eventLoop)
        ClientBootstrap(group: context.eventLoop)
            .connectTimeout(.nanoseconds(snapshot.http.connectTimeout.nanosecondsClamped))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let handler = boundTLS.value {
                        if let deferral = boundDeferral.value { try channel.pipeline.syncOperations.addHandler(deferral) }
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                    try channel.pipeline.syncOperations.addHandler(boundHandler.value)
                }
            }
            .connect(to: endpoint.address)
            .whenComplete { result in
                let handler = boundSelf.value
                switch result {
                case .success:
                    handler.connected(boundHandler.value)
                case .failure(let error):
                    handler.refuse(.connectFailed, "cannot connect to \(endpoint.key): \(error)")
                }
            }
    }

    private func connected(_ handler: TCPUpstreamHandler) {
        guard let context, context.channel.isActive else {
            handler.close()
            return
        }
        upstream = handler
        if let bytes = waiting {
            waiting = nil
            handler.write(bytes)
        }
        if inputClosed { handler.closeOutput() }
        try? context.channel.syncOptions?.setOption(.autoRead, value: true)
        context.read()
    }

    private func refuse(_ reason: ProxyErrorReason, _ details: String) {
        loop.metrics.recordError(reason)
        logger.notice("tcp connection refused", metadata: ["listener": "\(listener)", "heddle_error": "\(reason.identifier)", "details": "\(details)"])
        finishTicket(success: false)
        context?.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        metrics?.bytesIn.increment(by: Int64(bytes.readableBytes))
        if let upstream {
            upstream.write(bytes)
        } else if waiting == nil {
            waiting = bytes
        } else {
            waiting!.writeBuffer(&bytes)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event, !began {
            start(context: context)
        }
        if case ChannelEvent.inputClosed = event {
            inputClosed = true
            upstream?.closeOutput()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        upstream?.setAutoRead(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        finishTicket()
        upstream?.close()
        upstream = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    // Events from the upstream side.

    func upstreamRead(_ bytes: ByteBuffer) {
        metrics?.bytesOut.increment(by: Int64(bytes.readableBytes))
        context?.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
    }

    /// The server finished sending: pass the half-close on once what it sent has been written.
    func upstreamInputClosed() {
        guard let context else { return }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0))).whenComplete { _ in
            channel.close(mode: .output, promise: nil)
        }
    }

    /// The server's connection is gone: close once everything it sent has reached the client
    /// (a plain close would drop writes still queued to a slow client).
    func upstreamClosed() {
        upstream = nil
        guard let context else { return }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    func upstreamWritabilityChanged(_ writable: Bool) {
        try? context?.channel.syncOptions?.setOption(.autoRead, value: writable)
    }

    private func finishTicket(success: Bool = true) {
        guard let ticket else { return }
        self.ticket = nil
        loop.finish(ticket, service: backend, success: success, startedAt: started, now: NIODeadline.now().uptimeNanoseconds)
    }
}

/// The upstream end of a TCP relay.
final class TCPUpstreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var downstream: TCPProxyHandler?
    private var context: ChannelHandlerContext?
    /// For a mesh peer: the handshake's check, where handshakes are counted, the logger and
    /// the endpoint, to report a failed handshake with its reason.
    private let tls: (check: PeerCheck, metrics: ProxyMetrics, logger: Logger, endpoint: String)?
    private var handshakeDone = false
    /// Holds back the peer's half-close until the handshake completes (see `DeferredInputClose`).
    private let deferral: DeferredInputClose?

    init(downstream: TCPProxyHandler, tls: (check: PeerCheck, metrics: ProxyMetrics, logger: Logger, endpoint: String)? = nil, deferral: DeferredInputClose? = nil) {
        self.downstream = downstream
        self.tls = tls
        self.deferral = deferral
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        downstream = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        downstream?.upstreamRead(unwrapInboundIn(data))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls, let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            handshakeDone = true
            tls.metrics.tlsOutboundAccepted.increment()
            deferral?.release()
        }
        if case ChannelEvent.inputClosed = event {
            downstream?.upstreamInputClosed()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        let owner = downstream
        downstream = nil
        owner?.upstreamClosed()
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        downstream?.upstreamWritabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let tls, !handshakeDone {
            handshakeDone = true
            _ = tls.check.outboundFailed(error, endpoint: tls.endpoint, metrics: tls.metrics, logger: tls.logger)
            tls.metrics.recordError(.upstreamTLSFailed)
        }
        context.close(promise: nil)
    }

    func write(_ bytes: ByteBuffer) {
        context?.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
    }

    func setAutoRead(_ enabled: Bool) {
        try? context?.channel.syncOptions?.setOption(.autoRead, value: enabled)
    }

    func closeOutput() {
        context?.close(mode: .output, promise: nil)
    }

    func close() {
        downstream = nil
        context?.close(promise: nil)
    }
}
