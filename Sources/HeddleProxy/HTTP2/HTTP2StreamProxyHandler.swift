import HeddleCore
import HeddlePolicy
import Logging
import NIOCore
import NIOHPACK
import NIOHTTP2

/// Proxies one HTTP/2 stream from a client: routes its request header block, picks a backend
/// and an endpoint with this loop's balancer, opens the upstream (a stream on a pooled HTTP/2
/// connection, or a pooled HTTP/1.1 connection), and relays frames both ways as they come.
/// Flow control carries through: a side that cannot take more pauses reading on the other, so
/// unread data stays in the peer's HTTP/2 window. Failures before the response are answered
/// with a proxy-made response (gRPC-shaped for gRPC); after it, by resetting the stream.
final class HTTP2StreamProxyHandler: ChannelInboundHandler, DeadlineHolder, HTTP2UpstreamStreamOwner {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private enum Phase {
        case awaitingHeaders
        /// Routed; waiting for the upstream stream or connection.
        case connecting
        case forwarding
        case done
    }


    private let loop: LoopContext
    private let listener: String
    private let logger: Logger
    private var context: ChannelHandlerContext?
    private var phase = Phase.awaitingHeaders
    private var snapshot: ProxySnapshot

    // Request.
    private var request: HTTP2RouteRequest?
    private var grpc = false
    private var requestComplete = false
    private var requestStart: UInt64 = 0
    private var requestBytes = 0
    /// Frames for the upstream received before it was attached (bounded by the stream window:
    /// reads are paused while connecting).
    private var waitingFrames: [HTTP2Frame.FramePayload] = []

    // Route and endpoint.
    private var match: RouteMatch?
    private var backend = -1
    private var endpoint: ResolvedEndpoint?
    private var ticket: BalancerTicket?

    // Upstream and response.
    private var upstream: (any HTTP2UpstreamLeg)?
    private var responseStarted = false
    private var responseStatus = 0
    private var responseBytes = 0

    // Deadlines and flow control.
    private(set) var deadline: UInt64 = .max
    var sweepSlot = -1
    private var readGate = ReadGate()
    private var upstreamNeedsFlush = false
    private var downstreamNeedsFlush = false

    init(loop: LoopContext, listener: String, logger: Logger) {
        self.loop = loop
        self.listener = listener
        self.logger = logger
        snapshot = loop.snapshot
    }

    // MARK: Channel events from the client's stream

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        loop.sweeper.add(self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        abandon()
        if sweepSlot >= 0 { loop.sweeper.remove(self) }
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let payload = unwrapInboundIn(data)
        switch payload {
        case .headers(let headers):
            if phase == .awaitingHeaders {
                startRequest(headers.headers, endStream: headers.endStream)
            } else if phase != .done, !requestComplete {
                // Trailers: they end the request (the codec refuses a block that does not).
                forwardRequest(payload)
                requestFinished()
            }
        case .data(let data):
            guard phase == .connecting || phase == .forwarding, !requestComplete else { return }
            if case .byteBuffer(let buffer) = data.data { requestBytes += buffer.readableBytes }
            forwardRequest(payload)
            if data.endStream {
                requestFinished()
            } else if !responseStarted {
                // While the body streams, the request timeout counts from its last bytes.
                armDeadline()
            }
        case .rstStream(let code):
            clientReset(code)
        default:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushUpstream()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        upstream?.setReadsPaused(!context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        abandon()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let closed = error as? NIOHTTP2Errors.StreamClosed {
            clientReset(closed.errorCode)
        } else {
            logger.debug("client stream error", metadata: ["listener": "\(listener)", "error": "\(error)"])
            abandon()
            context.close(promise: nil)
        }
    }

    // MARK: Requests

    private func startRequest(_ headers: HPACKHeaders, endStream: Bool) {
        snapshot = loop.snapshot
        let now = NIODeadline.now().uptimeNanoseconds
        requestStart = now
        let view = HTTP2RouteRequest(headers: headers)
        request = view
        grpc = view.isGRPC
        requestComplete = endStream
        phase = .connecting
        armDeadline(now: now)
        pauseReads(.connecting)

        if view.method == "CONNECT" {
            fail(ProxyFailure(.notImplemented, "CONNECT tunnels are not supported; send requests to the proxy directly"))
            return
        }
        let choice = loop.chooseTarget(for: view, listener: listener, snapshot: snapshot, now: now)
        match = choice.match
        backend = choice.backend
        if choice.service?.spec.protocol == .grpc { grpc = true }
        if let failure = choice.failure {
            fail(failure)
            return
        }
        guard let found = choice.match, let service = choice.service, let chosen = choice.endpoint else { return }
        endpoint = chosen
        ticket = choice.ticket
        waitingFrames.append(.headers(.init(headers: HTTP2HeaderRewrites.request(view, match: found), endStream: endStream)))
        open(service.spec.protocol, to: chosen)
    }

    private func open(_ upstreamProtocol: UpstreamProtocol, to target: ResolvedEndpoint) {
        guard let context else { return }
        let http = snapshot.http
        switch upstreamProtocol {
        case .http2, .grpc:
            loop.h2Pool.openStream(to: target, owner: self, http: http, eventLoop: context.eventLoop, logger: logger) { [self] result in
                switch result {
                case .success(let stream): attach(stream, to: target)
                case .failure(let failure): upstreamUnavailable(failure, target: target)
                }
            }
        case .http1:
            loop.h1ClientPool.lease(target, owner: self, http: http, eventLoop: context.eventLoop) { [self] result in
                switch result {
                case .success(let connection): attach(connection, to: target)
                case .failure(let failure): upstreamUnavailable(failure, target: target)
                }
            }
        case .tcp:
            // Configuration validation keeps TCP services out of HTTP routes.
            fail(ProxyFailure(.noEndpoints, "the service speaks tcp"))
        }
    }

    /// Takes the upstream for this stream and sends what the client has sent so far.
    private func attach(_ leg: any HTTP2UpstreamLeg, to target: ResolvedEndpoint) {
        guard phase == .connecting, endpoint == target, let context else {
            leg.cancel()
            return
        }
        upstream = leg
        phase = .forwarding
        let frames = waitingFrames
        waitingFrames = []
        for frame in frames { send(frame, to: leg) }
        flushUpstream()
        leg.setReadsPaused(!context.channel.isWritable)
        if !leg.isWritable { pauseReads(.upstreamBackpressure) }
        resumeReads(.connecting)
    }

    private func upstreamUnavailable(_ failure: ProxyFailure, target: ResolvedEndpoint) {
        guard phase == .connecting, endpoint == target else { return }
        fail(failure)
    }

    private func forwardRequest(_ payload: HTTP2Frame.FramePayload) {
        if let upstream, phase == .forwarding {
            send(payload, to: upstream)
        } else {
            waitingFrames.append(payload)
        }
    }

    private func send(_ payload: HTTP2Frame.FramePayload, to leg: any HTTP2UpstreamLeg) {
        switch payload {
        case .headers(let headers):
            leg.sendHeaders(headers.headers, endStream: headers.endStream)
        case .data(let data):
            if case .byteBuffer(let buffer) = data.data {
                leg.sendData(buffer, endStream: data.endStream)
            }
        default:
            return
        }
        upstreamNeedsFlush = true
    }

    private func requestFinished() {
        requestComplete = true
        if !responseStarted, phase != .done { armDeadline() }
    }

    private func flushUpstream() {
        guard upstreamNeedsFlush else { return }
        upstreamNeedsFlush = false
        upstream?.flush()
    }

    // MARK: Responses (called by the upstream leg)

    func upstreamHeaders(_ headers: HPACKHeaders, endStream: Bool) {
        guard phase == .forwarding else { return }
        if !responseStarted {
            let status = Int(headers.first(name: ":status") ?? "") ?? 0
            if status < 200, !endStream {
                // An interim response (100 Continue, 103 Early Hints) passes on as it is.
                write(.headers(.init(headers: headers, endStream: false)))
                return
            }
            responseStarted = true
            responseStatus = status
            deadline = .max
            let out = HTTP2HeaderRewrites.response(headers, modifier: match?.rule.responseHeaders)
            write(.headers(.init(headers: out, endStream: endStream)))
        } else {
            // Trailers (grpc-status among them) pass on untouched.
            write(.headers(.init(headers: headers, endStream: endStream)))
        }
        if endStream { responseFinished() }
    }

    func upstreamData(_ data: ByteBuffer, endStream: Bool) {
        guard phase == .forwarding else { return }
        responseBytes += data.readableBytes
        write(.data(.init(data: .byteBuffer(data), endStream: endStream)))
        if endStream { responseFinished() }
    }

    func upstreamReadComplete() {
        flushDownstream()
    }

    func upstreamWritabilityChanged(_ writable: Bool) {
        if writable { resumeReads(.upstreamBackpressure) } else { pauseReads(.upstreamBackpressure) }
    }

    /// The upstream reset its stream.
    func upstreamReset(_ code: HTTP2ErrorCode) {
        upstreamEnded(ProxyFailure(.upstreamReset, "\(endpoint?.key ?? "upstream") reset the stream (\(code))"), resetCode: code)
    }

    /// The upstream stream or connection closed before the response ended.
    func upstreamClosed() {
        upstreamEnded(ProxyFailure(.upstreamReset, "\(endpoint?.key ?? "upstream") closed the connection before the response ended"), resetCode: .internalError)
    }

    /// The upstream sent something that is not valid HTTP.
    func upstreamFailed(_ failure: ProxyFailure) {
        upstreamEnded(failure, resetCode: .internalError)
    }

    private func upstreamEnded(_ failure: ProxyFailure, resetCode: HTTP2ErrorCode) {
        upstream = nil
        guard phase == .forwarding || phase == .connecting else { return }
        if !responseStarted {
            fail(failure)
            return
        }
        // Part of the response is out: the client learns of the failure by a reset with the
        // upstream's code.
        logger.notice("upstream failed mid-response", metadata: ["endpoint": "\(endpoint?.key ?? "")", "details": "\(failure.details)"])
        loop.metrics.recordError(failure.reason)
        write(.rstStream(resetCode))
        complete(status: responseStatus, failure: failure)
    }

    private func responseFinished() {
        if !requestComplete {
            // The upstream answered before the request ended: the client is told to stop
            // sending (RST_STREAM NO_ERROR, RFC 9113 §8.1) and the upstream stream is let go.
            requestComplete = true
            write(.rstStream(.noError))
            if let leg = upstream {
                upstream = nil
                leg.cancel()
            }
        }
        complete(status: responseStatus, failure: nil)
    }

    // MARK: Ending

    /// The exchange is over: metrics, balancer and access log are updated, the upstream is
    /// released (pooled when it can be reused), and the last frames are flushed. The flush
    /// comes last: it may close the stream, and the exchange must be over by then.
    private func complete(status: Int, failure: ProxyFailure?) {
        phase = .done
        deadline = .max
        readGate.clear()
        waitingFrames = []
        if let leg = upstream {
            upstream = nil
            leg.finish()
        }
        record(status: status, failure: failure)
        setAutoRead(true)
        flushDownstream()
    }

    /// Answers the stream with a proxy-made response (gRPC-shaped for gRPC calls).
    private func fail(_ failure: ProxyFailure) {
        if let leg = upstream {
            upstream = nil
            leg.cancel()
        }
        loop.metrics.recordError(failure.reason)
        log(failure)
        let response = HTTP2ErrorResponse(failure, grpc: grpc)
        write(.headers(.init(headers: response.headers, endStream: response.body == nil)))
        if let body = response.body {
            write(.data(.init(data: .byteBuffer(body), endStream: true)))
        }
        if !requestComplete {
            requestComplete = true
            write(.rstStream(.noError))
        }
        complete(status: failure.reason.status, failure: failure)
    }

    /// The client reset its stream: the upstream is reset too.
    private func clientReset(_ code: HTTP2ErrorCode) {
        guard phase != .done, phase != .awaitingHeaders else { return }
        logger.debug("client reset the stream", metadata: ["listener": "\(listener)", "code": "\(code)"])
        abandon()
    }

    /// Drops the exchange without a response (the client's stream is gone).
    private func abandon() {
        guard phase != .done else { return }
        let started = phase != .awaitingHeaders
        phase = .done
        deadline = .max
        waitingFrames = []
        if let leg = upstream {
            upstream = nil
            leg.cancel()
        }
        if started { finishTicket() }
    }

    private func record(status: Int, failure: ProxyFailure?) {
        let now = NIODeadline.now().uptimeNanoseconds
        let elapsed = Int64(clamping: now &- requestStart)
        finishTicket(now: now)
        if let match, backend >= 0 {
            loop.routeMetrics(listener: listener, rule: match.rule, backend: backend).record(status: status, nanoseconds: elapsed)
        }
        guard loop.accessLog.isEnabled else { return }
        loop.accessLog.record(
            AccessLogEntry(
                listener: listener, method: request.map { String($0.method) } ?? "-", target: request?.target ?? "-",
                host: request.map { String($0.host) } ?? "", route: match?.rule.label,
                backend: backend >= 0 && backend < snapshot.services.count ? snapshot.services[backend].name : nil,
                endpoint: endpoint?.key, status: status, durationNanoseconds: elapsed,
                bytesIn: requestBytes, bytesOut: responseBytes, error: failure?.reason.identifier),
            random: &loop.random)
    }

    private func finishTicket(now: UInt64 = NIODeadline.now().uptimeNanoseconds) {
        guard let ticket, backend >= 0, backend < loop.balancers.count else {
            self.ticket = nil
            return
        }
        self.ticket = nil
        let latency = Duration.nanoseconds(Int64(clamping: now &- requestStart))
        loop.balancers[backend].requestFinished(ticket, now: Instant(nanoseconds: now), latency: latency)
    }

    private func log(_ failure: ProxyFailure) {
        let metadata: Logger.Metadata = [
            "listener": "\(listener)", "protocol": "\(grpc ? "grpc" : "http2")", "heddle_error": "\(failure.reason.identifier)",
            "status": "\(failure.reason.status)", "details": "\(failure.details)",
        ]
        if failure.reason.status >= 500 {
            logger.notice("request failed", metadata: metadata)
        } else {
            logger.info("request refused", metadata: metadata)
        }
    }

    // MARK: Writing, deadlines and reads

    private func write(_ payload: HTTP2Frame.FramePayload) {
        context?.write(wrapOutboundOut(payload), promise: nil)
        downstreamNeedsFlush = true
    }

    private func flushDownstream() {
        guard downstreamNeedsFlush else { return }
        downstreamNeedsFlush = false
        context?.flush()
    }

    private func armDeadline(now: UInt64 = NIODeadline.now().uptimeNanoseconds) {
        deadline = now &+ UInt64(snapshot.http.requestTimeout.nanosecondsClamped)
    }

    func deadlinePassed(now: UInt64) {
        deadline = .max
        guard phase == .connecting || phase == .forwarding, !responseStarted else { return }
        fail(ProxyFailure(.upstreamTimeout, "no response from \(endpoint?.key ?? "upstream") within \(snapshot.http.requestTimeout.configText)"))
    }

    /// Streams need nothing on drain: their connection sends GOAWAY and closes once they end.
    func drain() {}

    private func pauseReads(_ reason: ReadGate.Reason) {
        if readGate.pause(reason) { setAutoRead(false) }
    }

    private func resumeReads(_ reason: ReadGate.Reason) {
        if readGate.resume(reason) { setAutoRead(true) }
    }

    private func setAutoRead(_ enabled: Bool) {
        guard let context else { return }
        try? context.channel.syncOptions?.setOption(.autoRead, value: enabled)
        if enabled { context.read() }
    }
}
