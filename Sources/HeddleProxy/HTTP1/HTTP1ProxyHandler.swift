import HeddleCore
import HeddleHTTP1
import HeddlePolicy
import HeddleTracing
import Logging
import NIOCore
import Prometheus
import NIOPosix

/// Proxies HTTP/1.x from one client connection: frames each request, routes it, picks an
/// endpoint, forwards the original bytes on a pooled upstream connection of this event loop,
/// and frames the response back. One exchange at a time; pipelined requests wait in the
/// buffer. Both directions are driven from here, so one place knows the whole exchange.
final class HTTP1ProxyHandler: ChannelInboundHandler, PreciseDeadlineHolder {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Phase {
        /// Waiting for (the rest of) a request head.
        case head
        /// Forwarding the request body.
        case body
        /// The request is sent; later bytes are the next request and wait.
        case awaitingResponse
        /// After an upgrade: bytes are relayed both ways unframed.
        case tunnel
        /// The connection is being closed.
        case closed
    }

    private enum ResponsePhase {
        case head
        case body
        case done
    }

    private enum DeadlineKind {
        case idle
        case headerRead
        case response
        /// After an error response: the write side is shut and the client's remaining bytes
        /// are read and dropped for a moment, so a reset cannot destroy the response unread.
        case linger
        /// The response head has arrived; its body must keep coming (`idleTimeout` between
        /// reads), or the exchange is cut.
        case responseBody
    }


    private let loop: LoopContext
    private let listener: String
    private let logger: Logger
    /// The client's context, set from `handlerAdded` to `handlerRemoved`: writing and flushing
    /// to the client cost no reference count.
    private var client = UnretainedContext()
    /// The same context, for the calls off the hot path.
    private var context: ChannelHandlerContext! { client.value }
    /// Whether the client's channel takes more writes, kept from its writability events (read
    /// per exchange, without asking the channel).
    private var clientWritable = true
    private var phase: Phase = .head
    /// The response was the app's, marked `retry-budget-exhausted` (a retry was due, the budget
    /// had none): recorded as that failure when the request completes.
    private var budgetMarked = false

    // Request side.
    private var pending: ByteBuffer?
    private var requestParser: HTTP1HeadParser
    private var requestFields: [HTTP1Field] = []
    private var requestBody = HTTP1BodyFramer(framing: .none)
    private var requestComplete = false
    private var requestMethod: HTTPMethodKind = .get
    private var requestVersion: HTTP1Version = .http1_1
    private var requestKeepAlive = true
    private var requestWantsUpgrade = false
    private var requestStart: UInt64 = 0
    /// The head of the request in progress, for the access log (strings made only if logged).
    private var requestHead: HTTP1Head?
    private var requestBytes = 0
    /// The request's trace at this hop, when the proxy traces.
    private var trace: RequestTrace?

    // The chosen route and endpoint.
    private var snapshot: ProxySnapshot
    /// This listener's routes in the snapshot of `routeTableGeneration`, looked up once per
    /// snapshot instead of per request.
    private var routeTable: RouteTable?
    private var routeTableGeneration = -1
    private var match: RouteMatch?
    private var backend = -1
    private var endpoint: ResolvedEndpoint?
    private var ticket: BalancerTicket?

    // Upstream and response side.
    private var upstream: HTTP1UpstreamHandler?
    /// Instead of `upstream`, when the backend speaks HTTP/2 (another Heddle proxy): the
    /// exchange is carried on a stream of a pooled HTTP/2 connection.
    private var bridge: HTTP1ToHTTP2Bridge?
    private var outgoingHead: ByteBuffer?
    private var responseParser: HTTP1HeadParser
    private var responseFields: [HTTP1Field] = []
    private var responseBuffer: ByteBuffer?
    private var responsePhase = ResponsePhase.head
    private var responseBody = HTTP1BodyFramer(framing: .none)
    private var responseStatus = 0
    private var responseStarted = false
    private var upstreamReusable = false
    private var downstreamKeepAlive = true
    private var responseBytes = 0
    /// Length of an unchanged response head not yet written, just before the reader index of
    /// `responseBuffer`.
    private var heldHeadLength = 0
    /// The metrics handles of the last (rule, backend) this connection used, for the next
    /// request on it.
    private var cachedMetrics: (rule: CompiledRule, backend: Int, generation: Int, handles: RouteStats)?

    // Timeouts and flow control.
    private(set) var deadline: UInt64 = .max
    private var deadlineKind = DeadlineKind.idle
    var sweepSlot = -1
    private var readGate = ReadGate()
    /// The current bridge's stream is open (`bridgeOpened` came).
    private var bridgeIsOpen = false
    private var processing = false
    /// The exchange's upstream connection came from the pool (it may have been closed by the
    /// endpoint just as it was taken).
    private var reusedConnection = false
    private var requestHasBody = false
    /// The request head as sent upstream, kept to send it again on a fresh connection.
    private var sentHead: ByteBuffer?
    /// Counts exchanges on this connection, so a connect that completes after its exchange
    /// ended is not taken for the next one's.
    private var exchangeID = 0
    /// On-demand discovery: until when the request may wait for its host's configuration
    /// (0: it has not waited), and which wake-up is the current one.
    private var discoveryDeadline: UInt64 = 0
    private var discoveryToken = 0
    /// Bytes were queued to the upstream (or the client) and await one flush at the end of the
    /// current read, so a head and its body go out in one write.
    private var upstreamNeedsFlush = false
    private var downstreamNeedsFlush = false

    // Resilience of the exchange in progress: attempts, deadlines, breaker slots.
    /// 1 for the first attempt; retries count up.
    private var attempt = 0
    /// The whole request's timeout (the rule's, else the proxy's), and its per-try timeout
    /// (0: none), in nanoseconds.
    private var requestTimeoutNanos: UInt64 = 0
    private var perTryTimeoutNanos: UInt64 = 0
    /// When the caller's own deadline (`heddle-deadline`) passes; `.max` when it sent none.
    private var callerDeadline: UInt64 = .max
    /// When the current attempt started (its per-try timeout counts from here).
    private var tryStart: UInt64 = 0
    /// Where the endpoint's latency sample starts: the attempt's start, or when its new
    /// connection was up (connection setup is not the endpoint's answer time, and one slow
    /// first connect must not make the balancer shun the endpoint).
    private var latencyFrom: UInt64 = 0
    /// The body bytes sent so far, kept to send again on a retry while within the rule's
    /// buffer limit; `bodyReplayable` turns false past it.
    private var replayBody: ByteBuffer?
    private var bodyReplayable = true
    private var bodySent = false
    /// The mirror services (indices in `snapshot`) drawn to get a copy of this request, sent
    /// once it is complete.
    private var mirrorTo: [Int] = []
    /// Circuit breaker slots held for this exchange, on `slotService` (by index in the snapshot
    /// of generation `slotGeneration`, by name after a reload).
    private var slotService = -1
    private var slotServiceName = ""
    private var slotGeneration = 0
    private var holdsRequestSlot = false
    private var holdsRetrySlot = false
    private var holdsPendingSlot = false
    /// The failure of the last attempt, answered if a retry cannot be made after all.
    private var lastFailure: ProxyFailure?
    /// A precise timer for deadlines shorter than the sweeper's tick can honour, and when it fires.
    var preciseTimerAt: UInt64 = .max

    /// On the inbound listener: the mesh peer's proven identity, passed to the app in
    /// `heddle-client-id` (which is otherwise removed).
    private let clientIdentity: (inbound: Bool, peer: PeerCheck?)

    init(loop: LoopContext, listener: String, logger: Logger, peer: PeerCheck? = nil) {
        self.loop = loop
        self.listener = listener
        clientIdentity = (listener == "inbound", peer)
        self.logger = logger
        snapshot = loop.snapshot
        let http = loop.snapshot.http
        let limits = HTTP1Limits(maxHeadBytes: http.maxHeadBytes, maxHeaderCount: http.maxHeaderCount)
        requestParser = HTTP1HeadParser(limits: limits)
        responseParser = HTTP1HeadParser(limits: HTTP1Limits(maxHeadBytes: max(http.maxHeadBytes, 64 * 1024), maxHeaderCount: max(http.maxHeaderCount, 200)))
        requestFields.reserveCapacity(32)
        responseFields.reserveCapacity(32)
    }

    // MARK: Channel events from the client

    func handlerAdded(context: ChannelHandlerContext) {
        client.set(context)
        clientWritable = context.channel.isWritable
        loop.sweeper.add(self)
        loop.activeConnections += 1
        loop.metrics.downstreamConnections.increment()
        armDeadline(.idle)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        teardown()
        client.set(nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        switch phase {
        case .tunnel:
            upstream?.writeAndFlush(buffer)
            return
        case .closed:
            return
        case .head, .body, .awaitingResponse:
            break
        }
        if pending == nil || pending!.readableBytes == 0 {
            pending = buffer
        } else {
            // Drop what has been consumed before appending, or a connection that always leaves
            // a partial request in the buffer would keep every byte it ever sent.
            if pending!.readerIndex >= 16 * 1024 { pending!.discardReadBytes() }
            pending!.writeBuffer(&buffer)
        }
        processPending()
    }

    /// Ends here: no handler after this one wants it, and passing it on to the pipeline's tail
    /// costs reference counts on every read (NIO asks for the next read itself).
    func channelReadComplete(context: ChannelHandlerContext) {}

    func channelInactive(context: ChannelHandlerContext) {
        teardown()
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        clientWritable = context.channel.isWritable
        upstream?.setReadsPaused(!clientWritable)
        bridge?.setReadsPaused(!clientWritable)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("client connection error", metadata: ["error": "\(error)"])
        closeDownstream()
    }

    /// Releases everything an unfinished exchange holds; safe to call more than once.
    private func teardown() {
        guard phase != .closed || sweepSlot >= 0 || upstream != nil || bridge != nil else { return }
        phase = .closed
        if sweepSlot >= 0 {
            loop.sweeper.remove(self)
            loop.activeConnections -= 1
            loop.metrics.downstreamConnections.decrement()
        }
        finishTicket(success: false)
        releaseSlots()
        if let upstream {
            self.upstream = nil
            upstream.owner = nil
            upstream.close()
        }
        releaseBridge(finished: false)
        dropMirrors()
        pending = nil
        responseBuffer = nil
        replayBody = nil
    }

    // MARK: Requests

    /// Works through buffered client bytes: parses heads, frames bodies, and leaves in the
    /// buffer whatever must wait for the current exchange to end.
    private func processPending() {
        // Re-entry (an exchange that ends inside this loop) leaves the work to the outer loop,
        // so a buffer of pipelined requests never nests calls.
        guard !processing else { return }
        processing = true
        defer {
            processing = false
            if upstreamNeedsFlush {
                upstreamNeedsFlush = false
                upstream?.flush()
                bridge?.flush()
            }
        }
        while var buffer = pending, buffer.readableBytes > 0 || phase == .body {
            switch phase {
            case .head:
                // The sweeper's clock: a header-read timeout is seconds, and a clock read per
                // request is not free.
                if deadlineKind == .idle { armDeadline(.headerRead, now: loop.sweeper.coarseNow) }
                switch requestParser.parseRequest(buffer, fields: &requestFields) {
                case .needMoreBytes:
                    return
                case .error(let error):
                    rejectRequest(error)
                    return
                case .head(let head, let consumed):
                    buffer.moveReaderIndex(forwardBy: consumed)
                    pending = buffer
                    startRequest(head)
                }
            case .body:
                guard upstream != nil || bridge != nil, outgoingHead == nil else { return }
                if buffer.readableBytes == 0, !requestBody.isFinished { return }
                switch requestBody.advance(over: buffer) {
                case .inProgress(let consumed):
                    forwardRequestBytes(buffer.readSlice(length: consumed)!)
                    pending = buffer
                    // While the body streams, the request timeout counts from the last bytes
                    // received, so a long upload is not cut off; it runs in full once the
                    // request is complete.
                    if responsePhase == .head { armDeadline(.response) }
                case .finished(let consumed):
                    forwardRequestBytes(buffer.readSlice(length: consumed)!)
                    pending = buffer
                    requestFinished()
                case .error(let error):
                    pending = nil
                    failExchange(ProxyFailure(.badRequest, "request body: \(error.reason)"), closeAfter: true)
                    return
                }
            case .awaitingResponse:
                if buffer.readableBytes > snapshot.http.maxHeadBytes * 2 {
                    pauseReads(.pipelineFull)
                }
                return
            case .tunnel:
                pending = nil
                upstream?.writeAndFlush(buffer)
                return
            case .closed:
                return
            }
        }
    }

    private func startRequest(_ head: HTTP1Head) {
        exchangeID &+= 1
        snapshot = loop.snapshot
        let now = NIODeadline.now().uptimeNanoseconds
        requestStart = now
        requestMethod = head.methodKind
        requestVersion = head.version
        requestKeepAlive = head.keepAlive && !loop.draining
        requestWantsUpgrade = head.isUpgrade
        requestHead = head
        requestBytes = head.bytes.readableBytes
        trace = loop.tracer?.begin(traceParent: head.value(forLowercasedName: TraceHeaders.traceParent), random: &loop.random)
        requestComplete = false
        responseStarted = false
        responsePhase = .head
        responseStatus = 0
        responseBytes = 0
        requestBody = HTTP1BodyFramer(framing: head.bodyFraming, limits: requestParser.limits)
        requestTimeoutNanos = snapshot.requestTimeoutNanos
        perTryTimeoutNanos = 0
        tryStart = now
        latencyFrom = now
        armDeadline(.response, now: now)
        phase = .body

        if head.methodKind == .connect {
            failExchange(ProxyFailure(.notImplemented, "CONNECT tunnels are not supported; send requests to the proxy directly"), closeAfter: true)
            return
        }
        // A Content-Length of 0 is no body, as the absence of one is.
        let hasBody = head.bodyFraming != .none && head.bodyFraming != .contentLength(0)
        if let limited = loop.rateLimit(listener: listener, rule: nil, now: now) {
            failExchange(limited, closeAfter: hasBody)
            return
        }
        let view = HTTP1RouteRequest(head: head)
        if clientIdentity.inbound, snapshot.inboundAuthorization != nil,
           let denied = loop.authorize(identity: clientIdentity.peer?.identity, method: view.method, path: view.path, port: context.channel.localAddress?.port ?? 0, logger: logger) {
            failExchange(denied, closeAfter: hasBody)
            return
        }
        // A wake-up left from an earlier exchange on this connection (one that ended while it
        // waited) must not route this one.
        discoveryDeadline = 0
        discoveryToken &+= 1
        route(head, view: view, hasBody: hasBody, now: now)
    }

    /// Routes the request and sends its first attempt; a request for a host the proxy has no
    /// route for may wait for on-demand discovery first, then comes back here. `now` is the
    /// time of this call (the request's start on the first).
    private func route(_ head: HTTP1Head, view: HTTP1RouteRequest, hasBody: Bool, now: UInt64) {
        if routeTableGeneration != snapshot.generation {
            routeTableGeneration = snapshot.generation
            routeTable = snapshot.routeTables[listener]
        }
        var choice = TargetChoice()
        loop.chooseTarget(
            into: &choice, for: view, table: routeTable, snapshot: snapshot, now: requestStart,
            admit: { [loop] rule in loop.rateLimit(listener: nil, rule: rule, now: now) },
            refuse: { service in
                guard head.isUpgrade, service.spec.protocol == .http2 || service.spec.protocol == .grpc else { return nil }
                return ProxyFailure(.notImplemented, "upgrade over a mesh HTTP/2 hop is not supported (service '\(service.name)' speaks \(service.spec.protocol.rawValue))")
            })
        // Moved out of the choice, not copied: a reference count saved per field.
        match = choice.match.take()
        backend = choice.backend
        if var failure = choice.failure {
            switch loop.discovery(after: failure, listener: listener, host: view.host, path: view.path, deadline: &discoveryDeadline) {
            case .waiting?:
                awaitDiscovery()
                return
            case .failed(let refusal)?: failure = refusal
            case nil: break
            }
            failExchange(failure, closeAfter: hasBody)
            return
        }
        guard let found = match, let service = choice.service.take(), let chosen = choice.endpoint.take() else { return }
        endpoint = chosen
        ticket = choice.ticket
        requestHasBody = hasBody
        if !hasBody {
            requestComplete = true
            phase = .awaitingResponse
        }
        // Read through the rule (a class) field by field: copying the whole struct out would
        // retain and release each of its arrays on every request.
        let rule = found.rule
        requestTimeoutNanos = rule.resilience.requestTimeoutNanos ?? snapshot.requestTimeoutNanos
        perTryTimeoutNanos = rule.resilience.perTryTimeoutNanos
        if let value = head.value(forLowercasedName: Deadline.heddleDeadlineHeader) {
            guard let left = Deadline.parseHeddleDeadline(value) else {
                failExchange(ProxyFailure(.badRequest, "heddle-deadline '\(ProxyErrorResponse.printable(value))' is not a number of milliseconds"), closeAfter: hasBody)
                return
            }
            callerDeadline = requestStart &+ left.nanosecondsUInt64
            if left == .zero {
                failExchange(ProxyFailure(.deadlineExceeded, "the caller's deadline had already passed"), closeAfter: hasBody)
                return
            }
        }
        bodyReplayable = rule.resilience.retry.maxAttempts > 1
        guard acquireRequestSlot(service: backend, name: service.name) else { return }
        loop.destinations[backend].budget.recordRequest(now: Instant(nanoseconds: now))
        if let fault = rule.resilience.fault {
            switch fault.decide(using: &loop.random) {
            case .none:
                break
            case .delay(let delay):
                loop.metrics.recordFault(route: found.rule.label, kind: "delay")
                delayAttempt(by: delay, then: { handler in handler.sendAttempt() })
                return
            case .abort(let abort):
                failExchange(faultAbort(abort, rule: found.rule), closeAfter: hasBody)
                return
            case .delayThenAbort(let delay, let abort):
                loop.metrics.recordFault(route: found.rule.label, kind: "delay")
                let failure = faultAbort(abort, rule: found.rule)
                delayAttempt(by: delay, then: { handler in handler.failExchange(failure, closeAfter: hasBody) })
                return
            }
        }
        sendAttempt(head, match: found, service: service, endpoint: chosen, now: now)
    }

    /// Sends the current attempt to `endpoint`: on a pooled or new connection of this loop, or
    /// on a stream to a `protocol: http2` service. A retry sends the kept head and body again.
    private func sendAttempt(now: UInt64 = NIODeadline.now().uptimeNanoseconds) {
        guard let head = requestHead, let found = match, let chosen = endpoint, backend >= 0, backend < snapshot.services.count else { return }
        sendAttempt(head, match: found, service: snapshot.services[backend], endpoint: chosen, now: now)
    }

    /// `sendAttempt` with the exchange's head, match, service and endpoint passed in by the
    /// caller that holds them, so the first attempt copies none of them again.
    private func sendAttempt(_ head: HTTP1Head, match found: RouteMatch, service: ResolvedService, endpoint chosen: ResolvedEndpoint, now: UInt64) {
        attempt += 1
        if attempt == 1 {
            // The rule's mirrors are drawn as the request is first sent (not when the proxy
            // answers it itself). A copy needs the whole body: it is kept as for a retry,
            // within the same limit; no body byte has been read yet.
            if !found.rule.resilience.mirrors.isEmpty {
                mirrorTo = found.rule.resilience.drawMirrors(using: &loop.random)
                if !mirrorTo.isEmpty { bodyReplayable = true }
            }
        }
        // Copies go out after the live attempt has been started, never before.
        defer { mirrorWhenComplete() }
        tryStart = now
        latencyFrom = now
        armDeadline(.response, now: now)
        if service.spec.protocol == .http2 || service.spec.protocol == .grpc {
            // Between Heddle proxies the time left always travels, so the far side stops when
            // this side does.
            openBridge(head, match: found, to: chosen, deadline: Deadline.formatHeddleDeadline(.nanoseconds(Int64(clamping: overallDeadline(now: now) &- now))), traceParent: trace?.traceParentHeader)
            return
        }
        let deadlineValue = callerDeadline == .max ? nil : Deadline.formatHeddleDeadline(.nanoseconds(Int64(clamping: overallDeadline(now: now) &- now)))
        let outgoing = UpstreamRequestHead.make(
            from: head, match: found, deadline: deadlineValue,
            clientIdentity: .forRequest(inbound: clientIdentity.inbound, peer: clientIdentity.peer), traceParent: trace?.traceParentHeader)
        if let pooled = loop.pool.take(chosen.plainPoolKey) {
            reusedConnection = true
            attach(pooled, sending: outgoing)
        } else {
            reusedConnection = false
            outgoingHead = outgoing
            connect(to: chosen)
        }
    }

    /// The failure an injected abort answers with, counted.
    private func faultAbort(_ abort: FaultInjector.Abort, rule: CompiledRule) -> ProxyFailure {
        loop.metrics.recordFault(route: rule.label, kind: "abort")
        return ProxyFailure(.faultInjected, "route \(rule.label) aborted the request (fault injection)", status: abort.status, grpcStatus: abort.grpcStatus)
    }

    /// Parks the request, reads paused, until a configuration is installed or the control
    /// plane answers (or its discovery deadline passes); it then routes again.
    private func awaitDiscovery() {
        pauseReads(.connecting)
        discoveryToken &+= 1
        let token = discoveryToken
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        loop.awaitDiscovery(until: discoveryDeadline) {
            let handler = bound.value
            guard handler.discoveryToken == token, handler.phase == .body, handler.upstream == nil, handler.bridge == nil, let head = handler.requestHead else { return }
            handler.discoveryToken &+= 1
            handler.resumeReads(.connecting)
            handler.snapshot = handler.loop.snapshot
            let hasBody = head.bodyFraming != .none && head.bodyFraming != .contentLength(0)
            handler.route(head, view: HTTP1RouteRequest(head: head), hasBody: hasBody, now: NIODeadline.now().uptimeNanoseconds)
        }
    }

    /// Holds the exchange back for `delay` (an injected fault, a retry's backoff) with client
    /// reads paused, then runs `next` unless the exchange ended meanwhile.
    private func delayAttempt(by delay: Duration, then next: @escaping (HTTP1ProxyHandler) -> Void) {
        pauseReads(.connecting)
        let exchange = exchangeID
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let work = NIOLoopBound(next, eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: .nanoseconds(Int64(clamping: delay.nanosecondsUInt64))) {
            let handler = bound.value
            guard handler.exchangeID == exchange, handler.phase == .body || handler.phase == .awaitingResponse else { return }
            handler.resumeReads(.connecting)
            work.value(handler)
        }
    }

    /// The earliest of the request timeout (counted from the request's start) and the
    /// caller's deadline.
    private func overallDeadline(now: UInt64) -> UInt64 {
        min(requestStart &+ requestTimeoutNanos, callerDeadline)
    }


    // MARK: Circuit breaking

    /// Takes an in-flight request slot of the service's circuit breaker, or answers
    /// `circuit-open` at once.
    private func acquireRequestSlot(service index: Int, name: String) -> Bool {
        guard loop.destinations[index].breaker.tryAcquire(.requests) else {
            circuitOpen(.requests, service: name)
            return false
        }
        slotService = index
        slotServiceName = name
        slotGeneration = snapshot.generation
        holdsRequestSlot = true
        return true
    }

    private func circuitOpen(_ limit: CircuitBreaker.Resource, service: String) {
        loop.metrics.recordCircuitOpen(service: service, limit: limit)
        let count = loop.destinations[backend].breaker.limits[limit] * loop.loopCount
        let what = limit == .connections ? "connections open" : limit == .pendingRequests ? "requests waiting for a connection" : "\(limit.label) in flight"
        failExchange(ProxyFailure(.circuitOpen, "service '\(service)' is at its limit of \(count) \(what)"), closeAfter: !requestComplete)
    }

    /// The index of the service whose breaker slots this exchange holds, in the loop's current
    /// snapshot (it may have been reloaded meanwhile).
    private var slotIndex: Int? {
        guard slotService >= 0 else { return nil }
        if slotGeneration == loop.snapshot.generation { return slotService }
        return loop.snapshot.serviceIndex[slotServiceName]
    }

    private func releaseSlot(_ resource: CircuitBreaker.Resource) {
        if let index = slotIndex, index < loop.destinations.count {
            loop.destinations[index].breaker.release(resource)
        }
    }

    /// Gives back every breaker slot the exchange holds.
    private func releaseSlots() {
        if holdsPendingSlot { holdsPendingSlot = false; releaseSlot(.pendingRequests) }
        if holdsRetrySlot { holdsRetrySlot = false; releaseSlot(.retries) }
        if holdsRequestSlot { holdsRequestSlot = false; releaseSlot(.requests) }
        slotService = -1
    }

    private func connect(to target: ResolvedEndpoint) {
        if slotService >= 0 {
            guard loop.destinations[slotService].breaker.tryAcquire(.pendingRequests) else {
                circuitOpen(.pendingRequests, service: slotServiceName)
                return
            }
            holdsPendingSlot = true
        }
        // The connection counts against the service that owns the endpoint (a failover's or
        // a retry's may differ from the breaker slot's).
        let owningService = backend >= 0 && backend < snapshot.services.count ? snapshot.services[backend].name : nil
        if let owningService, !loop.acquireConnectionSlot(service: backend) {
            if holdsPendingSlot { holdsPendingSlot = false; releaseSlot(.pendingRequests) }
            circuitOpen(.connections, service: owningService)
            return
        }
        pauseReads(.connecting)
        let http = snapshot.http
        let upstreamHandler = HTTP1UpstreamHandler(poolKey: target.plainPoolKey, loop: loop, service: owningService)
        let boundHandler = NIOLoopBound(upstreamHandler, eventLoop: context.eventLoop)
        let boundSelf = NIOLoopBound(self, eventLoop: context.eventLoop)
        let exchange = exchangeID
        ClientBootstrap(group: context.eventLoop)
            .connectTimeout(.nanoseconds(http.connectTimeout.nanosecondsClamped))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(boundHandler.value)
                }
            }
            .connect(to: target.address)
            .whenComplete { result in
                let handler = boundSelf.value
                switch result {
                case .success:
                    handler.connected(boundHandler.value, to: target, exchange: exchange)
                case .failure(let error):
                    boundHandler.value.releaseConnectionSlot()
                    handler.connectFailed(error, to: target, exchange: exchange)
                }
            }
    }

    private func connected(_ connection: HTTP1UpstreamHandler, to target: ResolvedEndpoint, exchange: Int) {
        guard exchange == exchangeID, phase == .body || phase == .awaitingResponse, endpoint == target, upstream == nil else {
            loop.pool.put(connection, now: NIODeadline.now().uptimeNanoseconds, limit: snapshot.http.maxIdlePerEndpoint)
            return
        }
        if holdsPendingSlot { holdsPendingSlot = false; releaseSlot(.pendingRequests) }
        latencyFrom = NIODeadline.now().uptimeNanoseconds
        resumeReads(.connecting)
        attach(connection)
    }

    private func connectFailed(_ error: any Error, to target: ResolvedEndpoint, exchange: Int) {
        guard exchange == exchangeID, phase == .body || phase == .awaitingResponse, endpoint == target, upstream == nil else { return }
        if holdsPendingSlot { holdsPendingSlot = false; releaseSlot(.pendingRequests) }
        resumeReads(.connecting)
        let timedOut = (error as? ChannelError).map { if case .connectTimeout = $0 { true } else { false } } ?? false
        let failure = if timedOut {
            ProxyFailure(.connectTimeout, "connecting to \(target.key) took longer than \(snapshot.http.connectTimeout.configText)")
        } else {
            ProxyFailure(.connectFailed, "cannot connect to \(target.key): \(Self.describe(error))")
        }
        attemptFailed(timedOut ? .connectTimeout : .connectFailed, failure)
    }

    // MARK: Retries

    /// The current attempt failed before any of its response reached the client: retried
    /// when the rule, the request and the retry budget allow, else answered with `failure`.
    private func attemptFailed(_ kind: AttemptFailure, _ failure: ProxyFailure) {
        switch retry(after: kind, failure) {
        case .retrying:
            return
        case .notRetried:
            failExchange(failure, closeAfter: !requestComplete)
        case .budgetExhausted:
            failExchange(failure.budgetExhausted(), closeAfter: !requestComplete)
        }
    }

    private enum RetryOutcome {
        case retrying
        case notRetried
        case budgetExhausted
    }

    /// Starts another attempt after `kind` of failure when it is safe and allowed: the rule
    /// retries it, the method is idempotent (or the route says retryable) and the body can be
    /// sent again, attempts and time are left, and the destination's retry budget and breaker
    /// have room. The failed attempt's connection is dropped and counted against its endpoint.
    private func retry(after kind: AttemptFailure, _ failure: ProxyFailure) -> RetryOutcome {
        guard let rule = match?.rule, backend >= 0, backend < loop.destinations.count, phase == .body || phase == .awaitingResponse,
              !responseStarted, !requestWantsUpgrade, let context
        else { return .notRetried }
        let resilience = rule.resilience
        guard resilience.allows(kind) else { return .notRetried }
        let request = RetryRequest(isIdempotent: requestMethod.isIdempotent, bodyReplayable: bodyReplayable, bodyBytesSent: bodySent)
        guard case .retry(let reason) = resilience.retry.decide(after: kind, attempt: attempt, request: request) else { return .notRetried }
        let now = NIODeadline.now().uptimeNanoseconds
        guard overallDeadline(now: now) > now &+ 1_000_000 else { return .notRetried }
        let service = snapshot.services[backend].name
        guard loop.destinations[backend].budget.tryWithdraw(now: Instant(nanoseconds: now)) else {
            loop.metrics.recordBudgetExhausted(service: service)
            return .budgetExhausted
        }
        if !holdsRetrySlot, slotService >= 0 {
            guard loop.destinations[slotService].breaker.tryAcquire(.retries) else {
                loop.metrics.recordCircuitOpen(service: service, limit: .retries)
                return .notRetried
            }
            holdsRetrySlot = true
        }
        loop.metrics.recordRetry(service: service, reason: reason.rawValue)
        logger.debug("retrying", metadata: ["endpoint": "\(endpoint?.key ?? "")", "attempt": "\(attempt + 1)", "reason": "\(reason.rawValue)", "details": "\(failure.details)"])
        // The failed attempt: its connection cannot be trusted, and it counts against the
        // endpoint for outlier detection.
        if let connection = upstream {
            upstream = nil
            connection.owner = nil
            connection.close()
        }
        releaseBridge(finished: false)
        resumeReads(.upstreamBackpressure)
        finishTicket(success: false, now: now)
        lastFailure = failure
        upstreamReusable = false
        responseBuffer = nil
        responseParser.reset()
        responsePhase = .head
        heldHeadLength = 0
        outgoingHead = nil
        let failedKey = endpoint?.key
        let delay = resilience.backoff.delay(attempt: attempt, using: &loop.random)
        _ = context
        // The next attempt's per-try timeout counts from when it starts.
        tryStart = now &+ delay.nanosecondsUInt64
        armDeadline(.response, now: now)
        delayAttempt(by: delay) { handler in
            handler.startRetry(avoiding: failedKey)
        }
        return .retrying
    }

    /// Picks an endpoint for the next attempt, another than the one that failed when the
    /// service has one, and sends the attempt there.
    private func startRetry(avoiding failedKey: String?) {
        guard backend >= 0, backend < snapshot.services.count, let requestHead else { return }
        let service = snapshot.services[backend]
        let now = Instant(nanoseconds: NIODeadline.now().uptimeNanoseconds)
        let hash = service.spec.loadBalancer.hashKey == nil ? nil : LoopContext.hashKey(for: service, request: HTTP1RouteRequest(head: requestHead))
        guard let target = loop.retryTarget(rule: match?.rule, backend: backend, hash: hash, avoiding: failedKey, now: now),
              target.backend < snapshot.services.count, target.endpoint < snapshot.services[target.backend].endpoints.count
        else {
            failExchange(lastFailure ?? ProxyFailure(.noEndpoints, "service '\(service.name)' has no endpoint available"), closeAfter: !requestComplete)
            return
        }
        // A failover keeps the breaker slots taken on the first backend; outcomes and
        // latency go to the endpoint's own service.
        backend = target.backend
        endpoint = snapshot.services[target.backend].endpoints[target.endpoint]
        ticket = loop.destinations[target.backend].balancer.requestStarted(target.endpoint, now: now)
        sendAttempt()
    }

    private static func describe(_ error: any Error) -> String {
        if let io = error as? IOError { return io.description }
        if let connect = error as? NIOConnectionError, let first = connect.connectionErrors.first { return "\(first.error)" }
        return "\(error)"
    }

    /// Takes an upstream connection for this exchange and sends the request head and any body
    /// bytes already received.
    private func attach(_ connection: HTTP1UpstreamHandler, sending outgoing: ByteBuffer? = nil) {
        upstream = connection
        connection.owner = self
        connection.setReadsPaused(!clientWritable)
        responseBuffer = nil
        responseParser.reset()
        if let head = outgoing ?? outgoingHead.take() {
            sentHead = head
            connection.write(head)
            upstreamNeedsFlush = true
            if attempt > 1, let replay = replayBody, replay.readableBytes > 0 {
                connection.write(replay)
            }
        }
        if !connection.isWritable { pauseReads(.upstreamBackpressure) }
        processPending()
    }

    private func forwardRequestBytes(_ bytes: ByteBuffer) {
        requestBytes += bytes.readableBytes
        if bytes.readableBytes > 0 {
            bodySent = true
            keepForReplay(bytes)
        }
        if let bridge {
            bridge.sendRequestBytes(bytes)
        } else {
            upstream?.write(bytes)
        }
        upstreamNeedsFlush = true
    }

    /// Keeps body bytes to send again on a retry, up to the rule's limit; past it the body is
    /// let go and the request is not replayed.
    private func keepForReplay(_ bytes: ByteBuffer) {
        guard bodyReplayable else { return }
        let limit = match?.rule.resilience.bodyBufferLimit ?? 0
        let kept = replayBody?.readableBytes ?? 0
        guard kept + bytes.readableBytes <= limit else {
            bodyReplayable = false
            replayBody = nil
            return
        }
        if replayBody == nil {
            replayBody = bytes
        } else {
            var more = bytes
            replayBody!.writeBuffer(&more)
        }
    }

    // MARK: Requests over HTTP/2 (to another Heddle proxy)

    /// Carries the exchange on an HTTP/2 stream: the bridge translates the request and hands
    /// the response back as HTTP/1.1 bytes through `upstreamRead`, so the rest of the exchange
    /// runs as on the raw path. Client reads pause until the stream is open.
    private func openBridge(_ head: HTTP1Head, match: RouteMatch, to target: ResolvedEndpoint, deadline: String?, traceParent: String?) {
        let opened = HTTP1ToHTTP2Bridge(
            owner: self, head: head, match: match, endpoint: target, keepAlive: requestKeepAlive, deadline: deadline,
            clientIdentity: .forRequest(inbound: clientIdentity.inbound, peer: clientIdentity.peer), traceParent: traceParent)
        bridge = opened
        if attempt > 1, let replay = replayBody, replay.readableBytes > 0 {
            opened.sendRequestBytes(replay)
        }
        responseBuffer = nil
        responseParser.reset()
        bridgeIsOpen = false
        opened.setReadsPaused(!context.channel.isWritable)
        opened.open(pool: loop.h2Pool, endpoint: target, http: snapshot.http, eventLoop: context.eventLoop, logger: logger)
        // Reads pause until the stream is open, unless it opened at once (a connection with
        // room): a pause and resume would cost two epoll_ctl calls per request.
        if bridge === opened, !bridgeIsOpen { pauseReads(.connecting) }
    }

    func bridgeOpened(_ opened: HTTP1ToHTTP2Bridge, writable: Bool) {
        guard opened === bridge else { return }
        bridgeIsOpen = true
        resumeReads(.connecting)
        if !writable { pauseReads(.upstreamBackpressure) }
        processPending()
    }

    /// The bridged stream ended before the HTTP/1 framing ended the exchange: cleanly (a
    /// close-delimited response is complete) or with `failure` (connect-failed, a reset, ...).
    func bridgeEnded(_ ended: HTTP1ToHTTP2Bridge, failure: ProxyFailure?) {
        guard ended === bridge, phase != .closed else { return }
        bridge = nil
        resumeReads(.connecting)
        resumeReads(.upstreamBackpressure)
        upstreamEnded(failure)
    }

    /// Lets the bridged stream go: released when the exchange finished, else reset.
    private func releaseBridge(finished: Bool) {
        guard let bridge else { return }
        self.bridge = nil
        if finished { bridge.finish() } else { bridge.cancel() }
        resumeReads(.connecting)
        resumeReads(.upstreamBackpressure)
    }

    private func requestFinished() {
        requestComplete = true
        if phase == .body {
            phase = .awaitingResponse
            if responsePhase == .head { armDeadline(.response) }
        }
        mirrorWhenComplete()
        finishExchangeIfDone()
    }

    // MARK: Mirroring

    /// Hands the copies drawn for this request to the loop's mirror client once the request is
    /// complete and its first attempt is under way. Fire and forget: nothing of the copies
    /// comes back to this exchange. A body not kept whole (past the rule's `bodyBufferLimit`)
    /// and an upgrade are not copied, and are counted `skipped`.
    private func mirrorWhenComplete() {
        guard !mirrorTo.isEmpty, requestComplete, attempt > 0, let head = requestHead, let match else { return }
        let services = mirrorTo
        mirrorTo = []
        if requestWantsUpgrade {
            loop.mirrors.skip(services, snapshot: snapshot, because: "an upgrade is not mirrored", logger: logger)
        } else if requestHasBody, !bodyReplayable {
            loop.mirrors.skip(services, snapshot: snapshot, because: "the body is larger than the rule's bodyBufferLimit", logger: logger)
        } else {
            loop.mirrors.send(.http1(head: head, match: match, body: requestHasBody ? replayBody : nil), to: services, snapshot: snapshot, logger: logger)
        }
    }

    /// The exchange ended before its copies could be sent: they are counted `skipped`.
    private func dropMirrors() {
        guard !mirrorTo.isEmpty else { return }
        loop.mirrors.skip(mirrorTo, snapshot: snapshot, because: "the exchange ended before the request was complete", logger: logger)
        mirrorTo = []
    }

    // MARK: Responses

    func upstreamRead(_ bytes: ByteBuffer) {
        frameResponse(bytes)
        if downstreamNeedsFlush {
            downstreamNeedsFlush = false
            client.flush()
        }
    }

    private func frameResponse(_ bytes: ByteBuffer) {
        var bytes = bytes
        if phase == .tunnel {
            responseBytes += bytes.readableBytes
            client.writeAndFlush(wrapOutboundOut(bytes))
            return
        }
        if responseBuffer == nil || responseBuffer!.readableBytes == 0 {
            responseBuffer = bytes
        } else {
            responseBuffer!.writeBuffer(&bytes)
        }
        while var buffer = responseBuffer, buffer.readableBytes > 0 {
            switch responsePhase {
            case .head:
                switch responseParser.parseResponse(buffer, requestMethod: requestMethod, fields: &responseFields) {
                case .needMoreBytes:
                    return
                case .error(let error):
                    responseBuffer = nil
                    upstreamReusable = false
                    failExchange(ProxyFailure(.upstreamProtocolError, "invalid response from \(endpoint?.key ?? "upstream"): \(error.reason)"), closeAfter: true)
                    return
                case .head(let head, let consumed):
                    buffer.moveReaderIndex(forwardBy: consumed)
                    responseBuffer = buffer
                    startResponse(head)
                }
            case .body:
                switch responseBody.advance(over: buffer) {
                case .inProgress(let consumed):
                    sendResponseBytes(takeResponseSlice(&buffer, length: consumed))
                    responseBuffer = buffer
                    // The sweeper's clock: exact to a tick, and free to read per body read.
                    armDeadline(.responseBody, now: loop.sweeper.coarseNow)
                case .finished(let consumed):
                    sendResponseBytes(takeResponseSlice(&buffer, length: consumed))
                    responseBuffer = buffer
                    responseFinished()
                case .error(let error):
                    responseBuffer = nil
                    upstreamReusable = false
                    logger.notice("invalid response body", metadata: ["endpoint": "\(endpoint?.key ?? "")", "error": "\(error.reason)"])
                    loop.metrics.recordError(.upstreamProtocolError)
                    closeDownstream()
                    return
                }
            case .done:
                // Bytes after a complete response that answered nothing: the connection is not
                // in a state we can trust.
                upstreamReusable = false
                responseBuffer = nil
                return
            }
        }
        if heldHeadLength > 0, var buffer = responseBuffer {
            sendResponseBytes(takeResponseSlice(&buffer, length: 0))
            responseBuffer = buffer
        }
    }

    /// The next `length` body bytes, preceded by a held unchanged head when there is one (the
    /// head's bytes sit just before the reader index).
    private func takeResponseSlice(_ buffer: inout ByteBuffer, length: Int) -> ByteBuffer {
        let held = heldHeadLength
        heldHeadLength = 0
        if held > 0 {
            buffer.moveReaderIndex(to: buffer.readerIndex - held)
        }
        return buffer.readSlice(length: held + length)!
    }

    private func startResponse(_ head: HTTP1Head) {
        if head.isInterim {
            // Passed on (100 Continue, 103 Early Hints) except to HTTP/1.0 clients, which do
            // not expect them. A failure after one still gets a proxy-made final response.
            if requestVersion == .http1_1 {
                client.write(wrapOutboundOut(head.bytes))
                downstreamNeedsFlush = true
            }
            return
        }
        var budgetSpent = false
        if let rule = match?.rule, rule.resilience.retry.retryableStatuses.contains(head.statusCode) {
            let failure = ProxyFailure(.upstreamReset, "\(endpoint?.key ?? "upstream") answered \(head.statusCode)", status: head.statusCode)
            switch retry(after: .status(head.statusCode), failure) {
            case .retrying: return
            case .budgetExhausted: budgetSpent = true
            case .notRetried: break
            }
        }
        responseStatus = head.statusCode
        clearDeadline()
        if head.isUpgrade, requestWantsUpgrade {
            responseStarted = true
            client.writeAndFlush(wrapOutboundOut(head.bytes))
            enterTunnel()
            return
        }
        upstreamReusable = head.keepAlive
        downstreamKeepAlive = requestKeepAlive && head.bodyFraming != .untilClose && !loop.draining
        responseBody = HTTP1BodyFramer(framing: head.bodyFraming, limits: responseParser.limits)
        responsePhase = .body
        armDeadline(.responseBody, now: loop.sweeper.coarseNow)
        var modifier = match?.rule.responseHeaders
        if budgetSpent {
            // The app's answer goes to the client as it is, marked: a retry was due, and the
            // budget had none left.
            budgetMarked = true
            var marked = modifier ?? HeaderModifier()
            marked.set.append(HeaderValue(name: "heddle-error", value: ProxyErrorReason.retryBudgetExhausted.identifier))
            modifier = marked
        }
        let rewritten = DownstreamResponseHead.rewrite(
            head, requestVersion: requestVersion, keepAlive: downstreamKeepAlive, modifier: modifier)
        if let rewritten {
            sendResponseBytes(rewritten)
        } else if head.bodyFraming == .none {
            sendResponseBytes(head.bytes)
        } else {
            // The head goes out unchanged together with the body bytes that follow it in the
            // same read: one buffer, one write.
            heldHeadLength = head.bytes.readableBytes
            responseStarted = true
        }
        if head.bodyFraming == .none {
            responseFinished()
        }
    }

    private func sendResponseBytes(_ bytes: ByteBuffer) {
        responseStarted = true
        responseBytes += bytes.readableBytes
        client.write(wrapOutboundOut(bytes))
        downstreamNeedsFlush = true
    }

    private func responseFinished() {
        responsePhase = .done
        if !requestComplete {
            // The app answered before reading the whole request (an early 413, say): the rest
            // of the body can no longer be framed against a response, so both sides close.
            upstreamReusable = false
            downstreamKeepAlive = false
            requestComplete = true
            pending = nil
        }
        finishExchangeIfDone()
    }

    func upstreamClosed() {
        let connection = upstream
        upstream = nil
        resumeReads(.upstreamBackpressure)
        guard phase != .closed, connection != nil else { return }
        if retryOnNewConnection() { return }
        upstreamEnded(nil)
    }

    /// A pooled connection that the endpoint closed as it was reused (its keep-alive timeout
    /// ran out first) took the request without answering: an idempotent request without a
    /// body is sent once more on a new connection, as HAProxy and Envoy do, instead of failing
    /// with `upstream-reset`.
    private func retryOnNewConnection() -> Bool {
        guard reusedConnection, requestMethod.isIdempotent, !requestHasBody, requestComplete, phase == .awaitingResponse,
              responsePhase == .head, !responseStarted, (responseBuffer?.readableBytes ?? 0) == 0,
              let head = sentHead, let target = endpoint
        else { return false }
        reusedConnection = false
        logger.debug("pooled connection closed before answering; sending again on a new connection", metadata: ["endpoint": "\(target.key)"])
        outgoingHead = head
        connect(to: target)
        return true
    }

    /// The upstream connection (or bridged stream) ended: the end of a close-delimited
    /// response, or a failure (`failure`, else a reset) before the response ended.
    private func upstreamEnded(_ failure: ProxyFailure?) {
        if phase == .tunnel {
            // What the app sent last (a WebSocket close frame, say) is still queued to a slow
            // client: flush it before closing.
            closeGracefully()
            return
        }
        if failure == nil, responsePhase == .body, responseBody.canEndAtClose {
            upstreamReusable = false
            downstreamKeepAlive = false
            responseFinished()
            return
        }
        if responsePhase == .done { return }
        upstreamReusable = false
        if responseStarted {
            logger.notice("upstream closed mid-response", metadata: ["endpoint": "\(endpoint?.key ?? "")", "details": "\(failure?.details ?? "")"])
            loop.metrics.recordError(failure?.reason ?? .upstreamReset)
            finishTicket(success: false)
            closeDownstream()
        } else {
            let failure = failure ?? ProxyFailure(.upstreamReset, "\(endpoint?.key ?? "upstream") closed the connection before responding")
            let kind: AttemptFailure = switch failure.reason {
            case .connectFailed, .upstreamTLSFailed, .noWorkloadIdentity: .connectFailed
            case .connectTimeout: .connectTimeout
            default: .resetBeforeResponse
            }
            attemptFailed(kind, failure)
        }
    }

    func upstreamWritabilityChanged(_ writable: Bool) {
        if writable { resumeReads(.upstreamBackpressure) } else { pauseReads(.upstreamBackpressure) }
    }

    private func enterTunnel() {
        phase = .tunnel
        clearDeadline()
        recordCompletion(status: 101)
        if let rest = responseBuffer, rest.readableBytes > 0 {
            responseBuffer = nil
            context.writeAndFlush(wrapOutboundOut(rest), promise: nil)
        }
        if let waiting = pending, waiting.readableBytes > 0 {
            pending = nil
            upstream?.writeAndFlush(waiting)
        }
        resumeReads(.pipelineFull)
    }

    // MARK: Ending exchanges

    private func finishExchangeIfDone() {
        guard requestComplete, responsePhase == .done else { return }
        let now = NIODeadline.now().uptimeNanoseconds
        recordCompletion(status: responseStatus, now: now)
        if let connection = upstream {
            upstream = nil
            connection.owner = nil
            resumeReads(.upstreamBackpressure)
            if upstreamReusable, responseBuffer?.readableBytes ?? 0 == 0 {
                connection.setReadsPaused(false)
                loop.pool.put(connection, now: now, limit: snapshot.http.maxIdlePerEndpoint)
            } else {
                connection.close()
            }
        }
        releaseBridge(finished: true)
        resetExchange()
        if downstreamKeepAlive, !loop.draining {
            phase = .head
            armDeadline(.idle, now: now)
            resumeReads(.pipelineFull)
            processPending()
        } else {
            closeGracefully()
        }
    }

    private func resetExchange() {
        releaseSlots()
        dropMirrors()
        attempt = 0
        callerDeadline = .max
        replayBody = nil
        bodyReplayable = true
        bodySent = false
        lastFailure = nil
        match = nil
        requestHead = nil
        backend = -1
        endpoint = nil
        outgoingHead = nil
        sentHead = nil
        responseBuffer = nil
        heldHeadLength = 0
        responsePhase = .head
        requestBody = HTTP1BodyFramer(framing: .none)
        responseBody = HTTP1BodyFramer(framing: .none)
    }

    /// Answers the current request with a proxy-made error, or closes the connection when part
    /// of a response has already gone out.
    private func failExchange(_ failure: ProxyFailure, closeAfter: Bool) {
        var failure = failure
        failure.requestID = loop.requestID(trace: trace)
        if let connection = upstream {
            upstream = nil
            connection.owner = nil
            connection.close()
        }
        releaseBridge(finished: false)
        resumeReads(.upstreamBackpressure)
        resumeReads(.connecting)
        finishTicket(success: false)
        loop.metrics.recordError(failure.reason)
        if responseStarted {
            closeDownstream()
            return
        }
        let status = failure.status
        log(failure)
        responseStatus = status
        recordCompletion(status: status, failure: failure)
        let keepAlive = !closeAfter && requestKeepAlive && !loop.draining
        let response = ProxyErrorResponse.make(failure, version: requestVersion, keepAlive: keepAlive, headRequest: requestMethod == .head)
        resetExchange()
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(response), promise: nil)
            requestComplete = true
            phase = .head
            armDeadline(.idle)
            resumeReads(.pipelineFull)
            processPending()
        } else {
            closeGracefully(after: response)
        }
    }

    /// A request that cannot be framed: answer with the parser's finding and close, since the
    /// rest of the stream cannot be trusted.
    private func rejectRequest(_ error: HTTP1ParseError) {
        let reason: ProxyErrorReason = switch error.httpStatus {
        case 431: .headersTooLarge
        case 505: .unsupportedVersion
        case 501: .notImplemented
        default: .badRequest
        }
        let failure = ProxyFailure(reason, "\(error.identifier): \(error.reason)")
        loop.metrics.recordError(reason)
        log(failure)
        closeGracefully(after: ProxyErrorResponse.make(failure, version: .http1_1, keepAlive: false))
    }

    private func log(_ failure: ProxyFailure) {
        let metadata: Logger.Metadata = [
            "listener": "\(listener)", "heddle_error": "\(failure.reason.identifier)",
            "status": "\(failure.status)", "details": "\(failure.details)",
        ]
        if failure.status >= 500 {
            logger.notice("request failed", metadata: metadata)
        } else {
            logger.info("request refused", metadata: metadata)
        }
    }

    private func recordCompletion(status: Int, failure: ProxyFailure? = nil, now: UInt64 = NIODeadline.now().uptimeNanoseconds) {
        let elapsed = Int64(clamping: now &- requestStart)
        let failure = failure ?? (budgetMarked ? ProxyFailure.budgetMarked(status: status) : nil)
        budgetMarked = false
        finishTicket(success: status < 500, now: now)
        if let rule = match?.rule, backend >= 0 {
            // Compared and used in place: a copy of the cached tuple would count a reference
            // to each of its handles.
            if cachedMetrics?.rule !== rule || cachedMetrics?.backend != backend || cachedMetrics?.generation != snapshot.generation {
                cachedMetrics = (rule, backend, snapshot.generation, loop.routeMetrics(listener: listener, rule: rule, backend: backend))
            }
            cachedMetrics?.handles.record(status: status, nanoseconds: elapsed)
        }
        // A local function, not a closure value: nothing is allocated unless it is called.
        func facts() -> RequestFacts {
            RequestFacts(
                listener: self.listener, method: self.requestHead?.method ?? "-", path: self.requestHead.map { $0.pathRange.isEmpty ? "/" : $0.path } ?? "-",
                host: self.requestHead.map(HTTP1RouteRequest.normalizedHost) ?? "-", status: status, route: self.match?.rule.label,
                backend: self.backendName, endpoint: self.endpoint?.key, attempts: self.attempt, error: failure,
                clientIdentity: self.clientIdentity.peer?.identity, endpointIdentity: self.endpoint?.identity,
                protocolVersion: self.requestVersion == .http1_0 ? "1.0" : "1.1")
        }
        // A failed request is remembered by its id (the one its error response carries).
        let failedID: String? = status >= 500 || failure != nil ? (failure?.requestID ?? loop.requestID(trace: trace)) : nil
        if let failedID { loop.rememberFailure(id: failedID, latencyNanoseconds: elapsed, traceID: trace?.traceID.hex, facts: facts()) }
        if let trace, let tracer = loop.tracer {
            tracer.finish(trace, status: status, failed: failure != nil, elapsedNanoseconds: elapsed, facts: facts)
        }
        if !loop.taps.isEmpty, let head = requestHead {
            loop.offerToTaps(
                method: Substring(head.method), path: Substring(head.pathRange.isEmpty ? "/" : head.path), status: status,
                latencyNanoseconds: elapsed, traceID: trace?.traceID.hex, requestID: failedID, facts: facts)
        }
        guard loop.accessLog.isEnabled else { return }
        loop.accessLog.record(
            AccessLogEntry(
                listener: listener, method: requestHead?.method ?? "-", target: requestHead?.target ?? "-", host: requestHead.map(HTTP1RouteRequest.normalizedHost) ?? "-",
                route: match?.rule.label, backend: backendName,
                endpoint: endpoint?.key, status: status, durationNanoseconds: elapsed,
                bytesIn: requestBytes, bytesOut: responseBytes, error: failure?.reason.identifier, traceID: trace?.traceID.hex, requestID: failedID),
            random: &loop.random)
    }

    /// The service the exchange went to, once one was chosen.
    private var backendName: String? {
        backend >= 0 && backend < snapshot.services.count ? snapshot.services[backend].name : nil
    }

    private func finishTicket(success: Bool, now: UInt64 = NIODeadline.now().uptimeNanoseconds) {
        guard let ticket else { return }
        self.ticket = nil
        // After a reload the service may sit at another index: found again by name.
        var index = backend
        if snapshot.generation != loop.snapshot.generation, backend >= 0, backend < snapshot.services.count {
            index = loop.snapshot.serviceIndex[snapshot.services[backend].name] ?? -1
        }
        loop.finish(ticket, service: index, success: success, startedAt: latencyFrom == 0 ? requestStart : latencyFrom, now: now)
    }

    /// Sends `buffer` (when given) and everything queued, then closes gracefully: shut the
    /// write side, drop whatever the client still sends for up to two seconds (a lingering
    /// close, as nginx and HAProxy do), then close. Without it, bytes the client is still
    /// sending (an upload answered early with 413) make the kernel reset the connection, and
    /// the client may never read the response.
    private func closeGracefully(after buffer: ByteBuffer? = nil) {
        guard let context else { return }
        phase = .closed
        pending = nil
        let channel = context.channel
        setAutoRead(true)
        readGate.clear()
        deadlineKind = .linger
        deadline = NIODeadline.now().uptimeNanoseconds &+ 2_000_000_000
        let last = buffer ?? channel.allocator.buffer(capacity: 0)
        context.writeAndFlush(wrapOutboundOut(last)).whenComplete { _ in
            channel.close(mode: .output, promise: nil)
        }
    }

    private func closeDownstream() {
        phase = .closed
        context?.close(promise: nil)
    }

    // MARK: Deadlines and reads

    private func clearDeadline() {
        deadline = .max
    }

    private func armDeadline(_ kind: DeadlineKind, now: UInt64 = NIODeadline.now().uptimeNanoseconds) {
        deadlineKind = kind
        switch kind {
        case .idle: deadline = now &+ snapshot.idleTimeoutNanos
        case .headerRead: deadline = now &+ snapshot.headerReadTimeoutNanos
        case .linger: deadline = now &+ 2_000_000_000
        case .responseBody: deadline = now &+ (match?.rule.resilience.idleTimeoutNanos ?? snapshot.idleTimeoutNanos)
        case .response:
            var at = min(now &+ requestTimeoutNanos, callerDeadline)
            if perTryTimeoutNanos > 0 { at = min(at, tryStart &+ perTryTimeoutNanos) }
            deadline = at
            loop.sweeper.armPrecisely(self, now: now)
        }
    }

    func drain() {
        if phase == .head, (pending?.readableBytes ?? 0) == 0 {
            closeDownstream()
        }
    }

    func deadlinePassed(now: UInt64) {
        deadline = .max
        switch deadlineKind {
        case .idle, .linger:
            closeDownstream()
        case .headerRead:
            let hasPartialHead = (pending?.readableBytes ?? 0) > 0
            if hasPartialHead {
                requestVersion = .http1_1
                loop.metrics.recordError(.requestHeaderTimeout)
                log(ProxyFailure(.requestHeaderTimeout, "request head not complete after \(snapshot.http.headerReadTimeout.configText)"))
                closeGracefully(after: ProxyErrorResponse.make(ProxyFailure(.requestHeaderTimeout, "request head not complete in time"), version: .http1_1, keepAlive: false))
            } else {
                closeDownstream()
            }
        case .response:
            guard phase == .body || phase == .awaitingResponse else { return }
            upstreamReusable = false
            if now >= callerDeadline {
                failExchange(ProxyFailure(.deadlineExceeded, "the caller's deadline passed before \(endpoint?.key ?? "upstream") answered"), closeAfter: !requestComplete)
            } else if perTryTimeoutNanos > 0, now >= tryStart &+ perTryTimeoutNanos, now < requestStart &+ requestTimeoutNanos {
                let timeout = Duration.nanoseconds(Int64(clamping: perTryTimeoutNanos))
                attemptFailed(.perTryTimeout, ProxyFailure(.upstreamTimeout, "no response from \(endpoint?.key ?? "upstream") within the per-try timeout of \(timeout.configText)"))
            } else {
                let timeout = Duration.nanoseconds(Int64(clamping: requestTimeoutNanos))
                failExchange(ProxyFailure(.upstreamTimeout, "no response from \(endpoint?.key ?? "upstream") within \(timeout.configText)"), closeAfter: !requestComplete)
            }
        case .responseBody:
            guard responsePhase == .body else { return }
            upstreamReusable = false
            logger.notice("response body stalled", metadata: ["endpoint": "\(endpoint?.key ?? "")", "idle": "\(snapshot.http.idleTimeout.configText)"])
            loop.metrics.recordError(.upstreamTimeout)
            finishTicket(success: false)
            closeDownstream()
        }
    }

    private func pauseReads(_ reason: ReadGate.Reason) {
        if readGate.pause(reason) { setAutoRead(false) }
    }

    private func resumeReads(_ reason: ReadGate.Reason) {
        if readGate.resume(reason) { setAutoRead(true) }
    }

    private func setAutoRead(_ enabled: Bool) {
        try? context?.channel.syncOptions?.setOption(.autoRead, value: enabled)
    }
}
