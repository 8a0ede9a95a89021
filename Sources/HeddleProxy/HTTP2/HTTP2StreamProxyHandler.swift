import HeddleCore
import HeddlePolicy
import HeddleTracing
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
/// The client's stream is a slot in its connection's `HTTP2StreamTable`, not a channel.
final class HTTP2StreamProxyHandler: HTTP2StreamEvents, PreciseDeadlineHolder, HTTP2UpstreamStreamOwner {

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
    /// The client's stream (kept after it closes: frames written just before the close still
    /// need their flush).
    private let stream: HTTP2StreamSlot
    /// The port the client connected to (authorization rules may name it).
    private let localPort: Int
    /// END_STREAM or RST_STREAM has been written to the client: the stream's close that
    /// follows is this side's doing.
    private var responseEndWritten = false
    private var phase = Phase.awaitingHeaders
    /// On-demand discovery: until when the request may wait for its host's configuration
    /// (0: it has not waited), and which wake-up is the current one.
    private var discoveryDeadline: UInt64 = 0
    private var discoveryToken = 0
    /// The response was the app's, marked `retry-budget-exhausted`: recorded as that failure.
    private var budgetMarked = false
    private var snapshot: ProxySnapshot

    // Request.
    private var request: HTTP2RouteRequest?
    /// The request's trace at this hop, when the proxy traces.
    private var trace: RequestTrace?
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

    // Resilience: attempts, deadlines, breaker slot.
    private var attempt = 0
    private var requestTimeoutNanos: UInt64 = 0
    private var perTryTimeoutNanos: UInt64 = 0
    /// When the caller's deadline (`grpc-timeout`, `heddle-deadline`) passes; `.max` for none.
    private var callerDeadline: UInt64 = .max
    private var tryStart: UInt64 = 0
    /// The request frames sent so far, kept to send again on a retry while their data stays
    /// within the rule's buffer limit (nil past it).
    private var replayFrames: [HTTP2Frame.FramePayload]? = []
    private var replayBytes = 0
    private var dataSent = false
    /// The mirror services (indices in `snapshot`) drawn to get a copy of this request, sent
    /// once it is complete.
    private var mirrorTo: [Int] = []
    /// The service whose breaker request slot the stream holds (by name, to survive a reload).
    private var slotServiceName: String?
    private var holdsRetrySlot = false
    private var lastFailure: ProxyFailure?
    var preciseTimerAt: UInt64 = .max
    /// The rule's stream idle timeout (`timeouts.idle`) in nanoseconds, 0 for none: once the
    /// response has started, the longest pause with no frame either way.
    private var streamIdleNanos: UInt64 = 0
    /// A gRPC response head held back until a message or the trailers arrive, so a call that
    /// fails without a message can still be retried.
    private var heldResponseHeaders: HPACKHeaders?

    /// On the inbound listener: the mesh peer's proven identity, passed to the app in
    /// `heddle-client-id` (which is otherwise removed).
    private let clientIdentity: (inbound: Bool, peer: PeerCheck?)

    init(stream: HTTP2StreamSlot, loop: LoopContext, listener: String, localPort: Int, logger: Logger, peer: PeerCheck? = nil) {
        self.stream = stream
        self.loop = loop
        self.listener = listener
        self.localPort = localPort
        clientIdentity = (listener == "inbound", peer)
        self.logger = logger
        snapshot = loop.snapshot
        loop.sweeper.add(self)
    }

    // MARK: Events from the client's stream

    func streamRead(_ payload: HTTP2Frame.FramePayload) {
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
            } else if streamIdleNanos > 0 {
                deadline = loop.sweeper.coarseNow &+ streamIdleNanos
            }
        case .rstStream(let code):
            clientReset(code)
        default:
            break
        }
    }

    func streamReadComplete() {
        flushUpstream()
    }

    func streamWritabilityChanged(_ writable: Bool) {
        upstream?.setReadsPaused(!writable)
    }

    /// The client's stream closed: after the response's end, as this side ended it (the
    /// exchange completes on its own); otherwise the client reset it, sent an invalid frame
    /// (the codec reset it), or the connection went away, and the exchange is dropped.
    func streamClosed(reset: HTTP2ErrorCode?) {
        if sweepSlot >= 0 { loop.sweeper.remove(self) }
        guard !responseEndWritten else { return }
        if let error = stream.codecError {
            logger.debug("client stream error", metadata: ["listener": "\(listener)", "error": "\(error)"])
            abandon()
        } else if let reset {
            clientReset(reset)
        } else {
            abandon()
        }
    }

    // MARK: Requests

    private func startRequest(_ headers: HPACKHeaders, endStream: Bool) {
        snapshot = loop.snapshot
        let now = NIODeadline.now().uptimeNanoseconds
        requestStart = now
        tryStart = now
        let view = HTTP2RouteRequest(headers: headers)
        request = view
        if let tracer = loop.tracer {
            trace = tracer.begin(traceParent: headers.first(name: TraceHeaders.traceParent), random: &loop.random)
        }
        grpc = view.isGRPC
        requestComplete = endStream
        phase = .connecting
        requestTimeoutNanos = snapshot.requestTimeoutNanos
        armDeadline(now: now)
        pauseReads(.connecting)

        if view.method == "CONNECT" {
            fail(ProxyFailure(.notImplemented, "CONNECT tunnels are not supported; send requests to the proxy directly"))
            return
        }
        if let limited = loop.rateLimit(listener: listener, rule: nil, now: now) {
            fail(limited)
            return
        }
        if clientIdentity.inbound, snapshot.inboundAuthorization != nil,
           let denied = loop.authorize(identity: clientIdentity.peer?.identity, method: view.method, path: view.path, port: localPort, logger: logger) {
            fail(denied)
            return
        }
        route(headers, view: view, endStream: endStream, now: now)
    }

    /// Routes the request and sends its first attempt; a request for a host the proxy has no
    /// route for may wait for on-demand discovery first, then comes back here.
    private func route(_ headers: HPACKHeaders, view: HTTP2RouteRequest, endStream: Bool, now: UInt64) {
        var choice = TargetChoice()
        loop.chooseTarget(
            into: &choice, for: view, table: snapshot.routeTables[listener], snapshot: snapshot, now: now,
            admit: { [loop] rule in loop.rateLimit(listener: nil, rule: rule, now: now) })
        match = choice.match.take()
        backend = choice.backend
        if choice.service?.spec.protocol == .grpc { grpc = true }
        if var failure = choice.failure {
            switch loop.discovery(after: failure, listener: listener, host: view.host, path: view.path, deadline: &discoveryDeadline) {
            case .waiting?:
                awaitDiscovery(headers, view: view, endStream: endStream)
                return
            case .failed(let refusal)?: failure = refusal
            case nil: break
            }
            fail(failure)
            return
        }
        guard let found = match, let service = choice.service.take(), choice.endpoint != nil else { return }
        endpoint = choice.endpoint.take()
        ticket = choice.ticket
        let resilience = found.rule.resilience
        requestTimeoutNanos = resilience.requestTimeoutNanos ?? snapshot.requestTimeoutNanos
        perTryTimeoutNanos = resilience.perTryTimeoutNanos
        streamIdleNanos = resilience.idleTimeoutNanos ?? 0
        if let failure = readCallerDeadline(headers, now: now) {
            fail(failure)
            return
        }
        armDeadline(now: now)
        guard loop.destinations[backend].breaker.tryAcquire(.requests) else {
            loop.metrics.recordCircuitOpen(service: service.name, limit: .requests)
            fail(ProxyFailure(.circuitOpen, "service '\(service.name)' is at its limit of \(loop.destinations[backend].breaker.limits[.requests] * loop.loopCount) requests in flight"))
            return
        }
        slotServiceName = service.name
        loop.destinations[backend].budget.recordRequest(now: Instant(nanoseconds: now))
        // Frames are kept for a retry, or for a copy until the mirrors are drawn.
        if resilience.retry.maxAttempts <= 1, resilience.mirrors.isEmpty { replayFrames = nil }
        var outgoing = HTTP2HeaderRewrites.withDeadline(
            HTTP2HeaderRewrites.request(view, match: found, clientIdentity: .forRequest(inbound: clientIdentity.inbound, peer: clientIdentity.peer)), grpc: grpc,
            remaining: callerDeadline == .max ? nil : overallDeadline() &- now)
        if let trace { outgoing.replaceOrAdd(name: TraceHeaders.traceParent, value: trace.traceParentHeader) }
        // First, before any body frame that came while the request waited for discovery.
        let headersFrame = HTTP2Frame.FramePayload.headers(.init(headers: outgoing, endStream: endStream))
        waitingFrames.insert(headersFrame, at: 0)
        replayFrames?.insert(headersFrame, at: 0)
        if let fault = resilience.fault {
            switch fault.decide(using: &loop.random) {
            case .none:
                break
            case .delay(let delay):
                loop.metrics.recordFault(route: found.rule.label, kind: "delay")
                after(delay) { $0.sendAttempt() }
                return
            case .abort(let abort):
                fail(faultAbort(abort, rule: found.rule))
                return
            case .delayThenAbort(let delay, let abort):
                loop.metrics.recordFault(route: found.rule.label, kind: "delay")
                let failure = faultAbort(abort, rule: found.rule)
                after(delay) { $0.fail(failure) }
                return
            }
        }
        sendAttempt()
    }

    /// Reads the caller's deadline: `grpc-timeout` (gRPC) and `heddle-deadline`, the earlier
    /// of the two. A malformed value is refused; one that has already passed fails the call.
    private func readCallerDeadline(_ headers: HPACKHeaders, now: UInt64) -> ProxyFailure? {
        var left: Duration?
        if let value = headers.first(name: "grpc-timeout") {
            guard let parsed = Deadline.parseGRPCTimeout(value) else {
                return ProxyFailure(.badRequest, "grpc-timeout '\(ProxyErrorResponse.printable(value))' is not a valid timeout")
            }
            left = parsed
        }
        if let value = headers.first(name: Deadline.heddleDeadlineHeader) {
            guard let parsed = Deadline.parseHeddleDeadline(value) else {
                return ProxyFailure(.badRequest, "heddle-deadline '\(ProxyErrorResponse.printable(value))' is not a number of milliseconds")
            }
            left = min(left ?? parsed, parsed)
        }
        guard let left else { return nil }
        if left == .zero { return ProxyFailure(.deadlineExceeded, "the caller's deadline had already passed") }
        callerDeadline = now &+ left.nanosecondsUInt64
        return nil
    }

    private func overallDeadline() -> UInt64 {
        min(requestStart &+ requestTimeoutNanos, callerDeadline)
    }

    private func faultAbort(_ abort: FaultInjector.Abort, rule: CompiledRule) -> ProxyFailure {
        loop.metrics.recordFault(route: rule.label, kind: "abort")
        return ProxyFailure(.faultInjected, "route \(rule.label) aborted the request (fault injection)", status: abort.status, grpcStatus: abort.grpcStatus)
    }

    /// Runs `next` after `delay` (an injected fault, a retry's backoff) unless the stream
    /// ended meanwhile.
    /// Parks the request (its reads are paused while it is routed) until a configuration is
    /// installed or the control plane answers (or its discovery deadline passes); it then
    /// routes again.
    private func awaitDiscovery(_ headers: HPACKHeaders, view: HTTP2RouteRequest, endStream: Bool) {
        discoveryToken &+= 1
        let token = discoveryToken
        let bound = NIOLoopBound(self, eventLoop: loop.eventLoop)
        loop.awaitDiscovery(until: discoveryDeadline) {
            let handler = bound.value
            guard handler.discoveryToken == token, handler.phase == .connecting, handler.upstream == nil else { return }
            handler.discoveryToken &+= 1
            handler.snapshot = handler.loop.snapshot
            handler.route(headers, view: view, endStream: endStream, now: handler.requestStart)
        }
    }

    private func after(_ delay: Duration, _ next: @escaping (HTTP2StreamProxyHandler) -> Void) {
        guard phase != .done else { return }
        let bound = NIOLoopBound(self, eventLoop: loop.eventLoop)
        let work = NIOLoopBound(next, eventLoop: loop.eventLoop)
        let expected = attempt
        loop.eventLoop.scheduleTask(in: .nanoseconds(Int64(clamping: delay.nanosecondsUInt64))) {
            let handler = bound.value
            guard handler.phase == .connecting, handler.attempt == expected else { return }
            work.value(handler)
        }
    }

    /// Opens the upstream for the current attempt at `endpoint`.
    private func sendAttempt() {
        guard let chosen = endpoint, backend >= 0, backend < snapshot.services.count else { return }
        attempt += 1
        if attempt == 1, let resilience = match?.rule.resilience, !resilience.mirrors.isEmpty {
            // The rule's mirrors are drawn as the request is first sent (not when the proxy
            // answers it itself); a copy needs every request frame, kept as for a retry.
            mirrorTo = resilience.drawMirrors(using: &loop.random)
            if mirrorTo.isEmpty, resilience.retry.maxAttempts <= 1 { replayFrames = nil }
        }
        // Copies go out after the live attempt has been started, never before.
        defer { mirrorWhenComplete() }
        tryStart = NIODeadline.now().uptimeNanoseconds
        armDeadline(now: tryStart)
        open(snapshot.services[backend].spec.protocol, to: chosen)
    }

    private func open(_ upstreamProtocol: UpstreamProtocol, to target: ResolvedEndpoint) {
        guard phase != .done else { return }
        let eventLoop = loop.eventLoop
        let http = snapshot.http
        switch upstreamProtocol {
        case .http2, .grpc:
            loop.h2Pool.openStream(to: target, owner: self, http: http, eventLoop: eventLoop, logger: logger) { [self] result in
                switch result {
                case .success(let stream): attach(stream, to: target)
                case .failure(let failure): upstreamUnavailable(failure, target: target)
                }
            }
        case .http1:
            loop.h1ClientPool.lease(target, owner: self, http: http, eventLoop: eventLoop) { [self] result in
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
        guard phase == .connecting, endpoint == target else {
            leg.cancel()
            return
        }
        upstream = leg
        phase = .forwarding
        let frames = waitingFrames
        waitingFrames = []
        for frame in frames { send(frame, to: leg) }
        flushUpstream()
        leg.setReadsPaused(!stream.isWritable)
        if !leg.isWritable { pauseReads(.upstreamBackpressure) }
        resumeReads(.connecting)
    }

    private func upstreamUnavailable(_ failure: ProxyFailure, target: ResolvedEndpoint) {
        guard phase == .connecting, endpoint == target else { return }
        let kind: AttemptFailure = switch failure.reason {
        case .connectTimeout: .connectTimeout
        // Nothing of the request reached the peer: as safe to retry as a refused connection.
        case .connectFailed, .upstreamTLSFailed, .noWorkloadIdentity: .connectFailed
        default: .resetBeforeResponse
        }
        attemptFailed(kind, failure)
    }

    // MARK: Retries

    private func attemptFailed(_ kind: AttemptFailure, _ failure: ProxyFailure) {
        switch retry(after: kind, failure) {
        case .retrying: return
        case .notRetried: fail(failure)
        case .budgetExhausted: fail(failure.budgetExhausted())
        }
    }

    private enum RetryOutcome {
        case retrying
        case notRetried
        case budgetExhausted
    }

    /// Starts another attempt when the rule, the request and the budget allow (see the HTTP/1
    /// handler's `retry` for the rules); the request frames kept so far are sent again.
    private func retry(after kind: AttemptFailure, _ failure: ProxyFailure) -> RetryOutcome {
        guard let rule = match?.rule, backend >= 0, backend < loop.destinations.count, phase == .connecting || phase == .forwarding,
              !responseStarted, let request
        else { return .notRetried }
        let resilience = rule.resilience
        guard resilience.allows(kind) else { return .notRetried }
        // Nothing of the body has been lost when every frame sent is kept.
        let replay = replayFrames ?? (phase == .connecting ? waitingFrames : nil)
        // gRPC calls are all POSTs; a status the server itself calls retryable (UNAVAILABLE:
        // "a transient condition, corrected by retrying with a backoff", in gRPC's words)
        // counts as safe to send again, as gRPC's own retry policies treat it.
        let answeredRetryable = if case .grpcStatus = kind { grpc } else { false }
        let isIdempotent = RetryRequest.isIdempotent(method: request.method) || answeredRetryable
        let retryRequest = RetryRequest(isIdempotent: isIdempotent, bodyReplayable: replay != nil, bodyBytesSent: dataSent || phase == .forwarding)
        guard case .retry(let reason) = resilience.retry.decide(after: kind, attempt: attempt, request: retryRequest), let frames = replay else { return .notRetried }
        let now = NIODeadline.now().uptimeNanoseconds
        guard overallDeadline() > now &+ 1_000_000 else { return .notRetried }
        let service = snapshot.services[backend].name
        guard loop.destinations[backend].budget.tryWithdraw(now: Instant(nanoseconds: now)) else {
            loop.metrics.recordBudgetExhausted(service: service)
            return .budgetExhausted
        }
        if !holdsRetrySlot {
            guard loop.destinations[backend].breaker.tryAcquire(.retries) else {
                loop.metrics.recordCircuitOpen(service: service, limit: .retries)
                return .notRetried
            }
            holdsRetrySlot = true
        }
        loop.metrics.recordRetry(service: service, reason: reason.rawValue)
        heldResponseHeaders = nil
        if let leg = upstream {
            upstream = nil
            leg.cancel()
        }
        finishTicket(success: false, now: now)
        lastFailure = failure
        phase = .connecting
        pauseReads(.connecting)
        resumeReads(.upstreamBackpressure)
        waitingFrames = frames
        let failedKey = endpoint?.key
        let delay = resilience.backoff.delay(attempt: attempt, using: &loop.random)
        tryStart = now &+ delay.nanosecondsUInt64
        armDeadline(now: now)
        after(delay) { handler in handler.startRetry(avoiding: failedKey) }
        return .retrying
    }

    private func startRetry(avoiding failedKey: String?) {
        guard backend >= 0, backend < snapshot.services.count, let request else { return }
        let service = snapshot.services[backend]
        let now = Instant(nanoseconds: NIODeadline.now().uptimeNanoseconds)
        let hash = LoopContext.hashKey(for: service, request: request)
        guard let target = loop.retryTarget(rule: match?.rule, backend: backend, hash: hash, avoiding: failedKey, now: now),
              target.backend < snapshot.services.count, target.endpoint < snapshot.services[target.backend].endpoints.count
        else {
            fail(lastFailure ?? ProxyFailure(.noEndpoints, "service '\(service.name)' has no endpoint available"))
            return
        }
        // A failover keeps the breaker slots taken on the first backend; outcomes and
        // latency go to the endpoint's own service.
        backend = target.backend
        endpoint = snapshot.services[target.backend].endpoints[target.endpoint]
        ticket = loop.destinations[target.backend].balancer.requestStarted(target.endpoint, now: now)
        sendAttempt()
    }

    private func forwardRequest(_ payload: HTTP2Frame.FramePayload) {
        if replayFrames != nil {
            if case .data(let data) = payload, case .byteBuffer(let buffer) = data.data {
                replayBytes += buffer.readableBytes
            }
            if let rule = match?.rule, replayBytes > rule.resilience.bodyBufferLimit {
                replayFrames = nil
            } else {
                // Kept while the request is routed (or waits for discovery, reads paused).
                replayFrames!.append(payload)
            }
        }
        if case .data = payload, phase == .forwarding { dataSent = true }
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
        mirrorWhenComplete()
    }

    // MARK: Mirroring

    /// Hands the copies drawn for this request to the loop's mirror client once the request is
    /// complete and its first attempt is under way (see the HTTP/1 handler's). Request frames
    /// past the rule's `bodyBufferLimit` were not kept: such a request is counted `skipped`.
    private func mirrorWhenComplete() {
        guard !mirrorTo.isEmpty, requestComplete, attempt > 0, phase != .done else { return }
        let services = mirrorTo
        mirrorTo = []
        if let frames = replayFrames {
            loop.mirrors.send(.http2(frames: frames), to: services, snapshot: snapshot, logger: logger)
        } else {
            loop.mirrors.skip(services, snapshot: snapshot, because: "the body is larger than the rule's bodyBufferLimit", logger: logger)
        }
    }

    /// The exchange ended before its copies could be sent: they are counted `skipped`.
    private func dropMirrors() {
        guard !mirrorTo.isEmpty else { return }
        loop.mirrors.skip(mirrorTo, snapshot: snapshot, because: "the exchange ended before the request was complete", logger: logger)
        mirrorTo = []
    }

    private func flushUpstream() {
        guard upstreamNeedsFlush else { return }
        upstreamNeedsFlush = false
        upstream?.flush()
    }

    // MARK: Responses (called by the upstream leg)

    func upstreamHeaders(_ headers: HPACKHeaders, endStream: Bool) {
        guard phase == .forwarding else { return }
        if let held = heldResponseHeaders {
            // Trailers right after held headers, with no message between: a gRPC call that
            // failed without answering. Retryable as a trailers-only response would be.
            heldResponseHeaders = nil
            let grpcStatus = headers.first(name: "grpc-status").flatMap { Int($0) }
            if endStream, let grpcStatus, let rule = match?.rule, rule.resilience.retry.retryableGRPCStatuses.contains(grpcStatus) {
                switch retry(after: .grpcStatus(grpcStatus), ProxyFailure(.upstreamReset, "\(endpoint?.key ?? "upstream") answered grpc-status \(grpcStatus)")) {
                case .retrying: return
                case .budgetExhausted: startResponse(held, endStream: false, budgetSpent: true)
                case .notRetried: startResponse(held, endStream: false, budgetSpent: false)
                }
            } else {
                startResponse(held, endStream: false, budgetSpent: false)
            }
            write(.headers(.init(headers: headers, endStream: endStream)))
            if endStream { responseFinished() }
            return
        }
        if !responseStarted {
            let status = Int(headers.first(name: ":status") ?? "") ?? 0
            if status < 200, !endStream {
                // An interim response (100 Continue, 103 Early Hints) passes on as it is.
                write(.headers(.init(headers: headers, endStream: false)))
                return
            }
            var budgetSpent = false
            if let rule = match?.rule {
                let retryPolicy = rule.resilience.retry
                if grpc, !endStream, status == 200, retryPolicy.maxAttempts > attempt, !retryPolicy.retryableGRPCStatuses.isEmpty {
                    // A gRPC server may send its headers, then fail in the trailers without a
                    // message: hold the headers until a message or the trailers show which.
                    heldResponseHeaders = headers
                    return
                }
                let grpcStatus = endStream ? headers.first(name: "grpc-status").flatMap { Int($0) } : nil
                let kind: AttemptFailure? = if let grpcStatus, grpc, retryPolicy.retryableGRPCStatuses.contains(grpcStatus) {
                    .grpcStatus(grpcStatus)
                } else if retryPolicy.retryableStatuses.contains(status) {
                    .status(status)
                } else {
                    nil
                }
                if let kind {
                    switch retry(after: kind, ProxyFailure(.upstreamReset, "\(endpoint?.key ?? "upstream") answered \(status)", status: status)) {
                    case .retrying: return
                    case .budgetExhausted: budgetSpent = true
                    case .notRetried: break
                    }
                }
            }
            startResponse(headers, endStream: endStream, budgetSpent: budgetSpent)
        } else {
            // Trailers (grpc-status among them) pass on untouched.
            write(.headers(.init(headers: headers, endStream: endStream)))
        }
        if endStream { responseFinished() }
    }

    /// Sends the response head on to the client: from here on the exchange cannot be retried.
    private func startResponse(_ headers: HPACKHeaders, endStream: Bool, budgetSpent: Bool) {
        responseStarted = true
        responseStatus = Int(headers.first(name: ":status") ?? "") ?? 0
        deadline = streamIdleNanos > 0 ? loop.sweeper.coarseNow &+ streamIdleNanos : .max
        var out = HTTP2HeaderRewrites.response(headers, modifier: match?.rule.responseHeaders)
        if budgetSpent {
            budgetMarked = true
            out.replaceOrAdd(name: "heddle-error", value: ProxyErrorReason.retryBudgetExhausted.identifier)
        }
        write(.headers(.init(headers: out, endStream: endStream)))
    }

    func upstreamData(_ data: ByteBuffer, endStream: Bool) {
        guard phase == .forwarding else { return }
        if let held = heldResponseHeaders {
            heldResponseHeaders = nil
            startResponse(held, endStream: false, budgetSpent: false)
        }
        responseBytes += data.readableBytes
        if streamIdleNanos > 0 { deadline = loop.sweeper.coarseNow &+ streamIdleNanos }
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
            attemptFailed(failure.reason == .connectFailed || failure.reason == .upstreamTLSFailed ? .connectFailed : .resetBeforeResponse, failure)
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
        heldResponseHeaders = nil
        dropMirrors()
        replayFrames = nil
        releaseSlots()
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
        var failure = failure
        failure.requestID = loop.requestID(trace: trace)
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
        complete(status: failure.status, failure: failure)
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
        dropMirrors()
        replayFrames = nil
        releaseSlots()
        if let leg = upstream {
            upstream = nil
            leg.cancel()
        }
        if started { finishTicket() }
    }

    /// Gives back the breaker slots the stream holds.
    private func releaseSlots() {
        guard let name = slotServiceName else { return }
        slotServiceName = nil
        let index = snapshot.generation == loop.snapshot.generation ? backend : (loop.snapshot.serviceIndex[name] ?? -1)
        guard index >= 0, index < loop.destinations.count else { return }
        loop.destinations[index].breaker.release(.requests)
        if holdsRetrySlot {
            holdsRetrySlot = false
            loop.destinations[index].breaker.release(.retries)
        }
    }

    private func record(status: Int, failure: ProxyFailure?) {
        let failure = failure ?? (budgetMarked ? ProxyFailure.budgetMarked(status: status) : nil)
        let now = NIODeadline.now().uptimeNanoseconds
        let elapsed = Int64(clamping: now &- requestStart)
        finishTicket(success: status < 500 && failure == nil, now: now)
        if let match, backend >= 0 {
            loop.routeMetrics(listener: listener, rule: match.rule, backend: backend).record(status: status, nanoseconds: elapsed)
        }
        // A local function, not a closure value: nothing is allocated unless it is called.
        func facts() -> RequestFacts {
            RequestFacts(
                listener: self.listener, method: self.request.map { String($0.method) } ?? "-", path: self.request.map { String($0.path) } ?? "-",
                host: self.request.map { String($0.host) } ?? "-", status: status, route: self.match?.rule.label,
                backend: self.backend >= 0 && self.backend < self.snapshot.services.count ? self.snapshot.services[self.backend].name : nil,
                endpoint: self.endpoint?.key, attempts: self.attempt, error: failure,
                clientIdentity: self.clientIdentity.peer?.identity, endpointIdentity: self.endpoint?.identity, protocolVersion: "2", grpc: self.grpc)
        }
        // A failed request is remembered by its id (the one its error response carries).
        let failedID: String? = status >= 500 || failure != nil ? (failure?.requestID ?? loop.requestID(trace: trace)) : nil
        if let failedID { loop.rememberFailure(id: failedID, latencyNanoseconds: elapsed, traceID: trace?.traceID.hex, facts: facts()) }
        if let trace, let tracer = loop.tracer {
            tracer.finish(trace, status: status, failed: failure != nil, elapsedNanoseconds: elapsed, facts: facts)
        }
        if !loop.taps.isEmpty, let request {
            loop.offerToTaps(method: request.method, path: request.path, status: status, latencyNanoseconds: elapsed, traceID: trace?.traceID.hex, requestID: failedID, facts: facts)
        }
        guard loop.accessLog.isEnabled else { return }
        loop.accessLog.record(
            AccessLogEntry(
                listener: listener, method: request.map { String($0.method) } ?? "-", target: request?.target ?? "-",
                host: request.map { String($0.host) } ?? "", route: match?.rule.label,
                backend: backend >= 0 && backend < snapshot.services.count ? snapshot.services[backend].name : nil,
                endpoint: endpoint?.key, status: status, durationNanoseconds: elapsed,
                bytesIn: requestBytes, bytesOut: responseBytes, error: failure?.reason.identifier, traceID: trace?.traceID.hex, requestID: failedID),
            random: &loop.random)
    }

    private func finishTicket(success: Bool = true, now: UInt64 = NIODeadline.now().uptimeNanoseconds) {
        guard let ticket else { return }
        self.ticket = nil
        loop.finish(ticket, service: backend, success: success, startedAt: tryStart, now: now)
    }

    private func log(_ failure: ProxyFailure) {
        let metadata: Logger.Metadata = [
            "listener": "\(listener)", "protocol": "\(grpc ? "grpc" : "http2")", "heddle_error": "\(failure.reason.identifier)",
            "status": "\(failure.status)", "details": "\(failure.details)",
        ]
        if failure.status >= 500 {
            logger.notice("request failed", metadata: metadata)
        } else {
            logger.info("request refused", metadata: metadata)
        }
    }

    // MARK: Writing, deadlines and reads

    private func write(_ payload: HTTP2Frame.FramePayload) {
        switch payload {
        case .headers(let headers): if headers.endStream { responseEndWritten = true }
        case .data(let data): if data.endStream { responseEndWritten = true }
        case .rstStream: responseEndWritten = true
        default: break
        }
        stream.write(payload)
        downstreamNeedsFlush = true
    }

    private func flushDownstream() {
        guard downstreamNeedsFlush else { return }
        downstreamNeedsFlush = false
        stream.flush()
    }

    /// The time by which a response must start: the request timeout from now (a streaming
    /// body re-arms it), the caller's deadline, and the attempt's per-try timeout.
    private func armDeadline(now: UInt64 = NIODeadline.now().uptimeNanoseconds) {
        var at = min(now &+ requestTimeoutNanos, callerDeadline)
        if perTryTimeoutNanos > 0 { at = min(at, tryStart &+ perTryTimeoutNanos) }
        deadline = at
        loop.sweeper.armPrecisely(self, now: now)
    }

    func deadlinePassed(now: UInt64) {
        deadline = .max
        if responseStarted, streamIdleNanos > 0, phase == .forwarding {
            // A long stream went quiet both ways for the rule's idle timeout: both streams are
            // reset, and the cut is counted and logged.
            let idle = Duration.nanoseconds(Int64(clamping: streamIdleNanos))
            let failure = ProxyFailure(.upstreamTimeout, "no frame either way for the stream idle timeout of \(idle.configText)")
            logger.notice("stream idle", metadata: ["listener": "\(listener)", "endpoint": "\(endpoint?.key ?? "")", "idle": "\(idle.configText)"])
            loop.metrics.recordError(.upstreamTimeout)
            if let leg = upstream {
                upstream = nil
                leg.cancel()
            }
            write(.rstStream(.cancel))
            complete(status: responseStatus, failure: failure)
            return
        }
        guard phase == .connecting || phase == .forwarding, !responseStarted else { return }
        if now >= callerDeadline {
            fail(ProxyFailure(.deadlineExceeded, "the caller's deadline passed before \(endpoint?.key ?? "upstream") answered"))
        } else if perTryTimeoutNanos > 0, now >= tryStart &+ perTryTimeoutNanos, now < requestStart &+ requestTimeoutNanos {
            let timeout = Duration.nanoseconds(Int64(clamping: perTryTimeoutNanos))
            attemptFailed(.perTryTimeout, ProxyFailure(.upstreamTimeout, "no response from \(endpoint?.key ?? "upstream") within the per-try timeout of \(timeout.configText)"))
        } else {
            let timeout = Duration.nanoseconds(Int64(clamping: requestTimeoutNanos))
            fail(ProxyFailure(.upstreamTimeout, "no response from \(endpoint?.key ?? "upstream") within \(timeout.configText)"))
        }
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
        stream.setReadsPaused(!enabled)
    }
}
