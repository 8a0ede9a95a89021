import HeddleCore
import HeddleIdentity
import HeddlePolicy
import HeddleTracing
import W3CTraceContext
import Logging
import NIOCore

/// Everything the data path keeps per event loop: the snapshot in force, balancer and
/// resilience state per service, the upstream pool, the deadline sweeper and a random source. Touched only on its
/// own event loop, so nothing here takes a lock; it is `Sendable` only so it can be handed to
/// its loop, and every use after that happens on that loop.
final class LoopContext: @unchecked Sendable {
    let eventLoop: any EventLoop
    let metrics: ProxyMetrics
    private(set) var snapshot: ProxySnapshot
    /// Per service, in `snapshot.services` order: balancer, outlier ejections, health, circuit
    /// breaker and retry budget.
    var destinations: [Destination]
    /// How many event loops share the proxy's limits.
    let loopCount: Int
    /// Endpoint keys that active health checks report failing, by service name.
    private(set) var unhealthyKeys: [String: Set<String>] = [:]
    /// Per-rule rate limiters, by route rule id, and per-listener ones by name.
    var routeLimiters: [Int: TokenBucket] = [:]
    var listenerLimiters: [String: TokenBucket] = [:]
    let pool = UpstreamPool()
    /// HTTP/2 connections to `http2` and `grpc` endpoints, multiplexing this loop's streams.
    let h2Pool: HTTP2ConnectionPool
    /// HTTP/1.1 connections for HTTP/2 streams whose backend speaks HTTP/1.1.
    let h1ClientPool = HTTP1ClientPool()
    /// Copies of requests for mirror services, on connections of their own.
    private(set) lazy var mirrors = MirrorClient(loop: self)
    let sweeper: TimeoutSweeper
    var random: Xoshiro256StarStar
    /// Set on SIGTERM: connections finish their current request and close.
    private(set) var draining = false
    /// Open downstream connections on this loop, to close them when draining.
    var activeConnections: Int = 0
    /// The route metrics of this snapshot's rules, by rule and backend (cleared on install)...
    private var routeMetrics: [RouteMetricsKey: RouteStats] = [:]
    /// ...which are these, kept by labels for the life of the proxy.
    private var routeStats: [RouteStatsLabels: RouteStats] = [:]
    private var tcpMetrics: [String: TCPMetrics] = [:]
    private var maintenance: RepeatedTask?
    /// The requests in flight per service this loop last added to `heddle_requests_in_flight`.
    private var reportedInFlight: [String: Int] = [:]
    let accessLog: AccessLog
    /// Traces and spans, when the proxy exports them.
    let tracer: LoopTracer?
    /// `heddle tap`s watching this proxy; empty (one check per request) when none does.
    private(set) var taps: [TapSubscription] = []
    /// The last failed requests this loop answered (`heddle explain`).
    private(set) var failures = FailureLog()

    /// The workload identity for mutual TLS with mesh peers, when the proxy has one.
    let meshTLS: MeshTLS?
    /// On-demand discovery, when the proxy learns the services its app calls.
    let learner: CallLearner?
    /// Requests of this loop waiting for on-demand discovery: woken (each once) when a
    /// configuration is installed or the control plane answers.
    private var discoveryWaiters: [() -> Void] = []

    init(
        eventLoop: any EventLoop, snapshot: ProxySnapshot, metrics: ProxyMetrics, accessLog: AccessLog, seed: UInt64, loopCount: Int = 1,
        meshTLS: MeshTLS? = nil, tracer: LoopTracer? = nil, learner: CallLearner? = nil
    ) {
        self.eventLoop = eventLoop
        self.learner = learner
        self.tracer = tracer
        self.meshTLS = meshTLS
        h2Pool = HTTP2ConnectionPool(tls: meshTLS, metrics: metrics)
        self.snapshot = snapshot
        self.metrics = metrics
        self.accessLog = accessLog
        self.sweeper = TimeoutSweeper(eventLoop: eventLoop)
        self.random = Xoshiro256StarStar(seed: seed)
        self.loopCount = max(loopCount, 1)
        self.destinations = snapshot.services.map { Destination(service: $0, loops: max(loopCount, 1)) }
    }

    func start() {
        sweeper.start()
        maintenance = eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [weak self] _ in
            guard let self else { return }
            let idleLimit = UInt64(self.snapshot.http.upstreamIdleTimeout.nanosecondsClamped)
            let now = NIODeadline.now().uptimeNanoseconds
            self.pool.closeIdle(olderThan: idleLimit, now: now)
            self.h2Pool.closeIdle(olderThan: idleLimit, now: now)
            self.h1ClientPool.closeIdle(olderThan: idleLimit, now: now)
            self.mirrors.closeIdle(olderThan: idleLimit, now: now)
            self.tickOutlierDetection(now: now)
            self.reportInFlight()
            self.tracer?.flush()
        }
    }

    func addTap(_ tap: TapSubscription) {
        taps.append(tap)
    }

    func removeTap(_ tap: TapSubscription) {
        taps.removeAll { $0 === tap }
    }

    /// The id a failed request is remembered by: its trace's, else a new random one.
    func requestID(trace: RequestTrace?) -> String {
        trace?.traceID.hex ?? TraceID.random(using: &random).hex
    }

    /// Remembers a failed request (a 5xx, or an error the proxy answered) for `heddle explain`.
    func rememberFailure(id: String, latencyNanoseconds: Int64, traceID: String?, facts: RequestFacts) {
        failures.append(FailureLog.Entry(id: id, facts: facts, latencyNanoseconds: latencyNanoseconds, traceID: traceID, time: AccessLog.unixNanoseconds()))
    }

    /// Offers a completed request to every tap whose filter it matches; `facts` is gathered
    /// only for a match.
    func offerToTaps(method: Substring, path: Substring, status: Int, latencyNanoseconds: Int64, traceID: String?, requestID: String?, facts: () -> RequestFacts) {
        let now = NIODeadline.now().uptimeNanoseconds
        var made: RequestFacts?
        for tap in taps where tap.filter.matches(method: method, path: path, status: status) {
            tap.offer(nowNanoseconds: now) {
                let gathered = made ?? facts()
                made = gathered
                return gathered.eventLine(
                    time: AccessLog.unixNanoseconds(), latencyNanoseconds: latencyNanoseconds, traceID: traceID,
                    proxyIdentity: meshTLS?.identity?.description, requestID: requestID)
            }
        }
    }

    /// Brings this loop's share of `heddle_requests_in_flight` up to date: the requests its
    /// circuit breakers hold, per service (the local app as `app`).
    func reportInFlight() {
        var current: [String: Int] = [:]
        for (index, service) in snapshot.services.enumerated() where index < destinations.count {
            let count = destinations[index].breaker.count(.requests)
            if count > 0 { current[service.name == ProxySnapshot.inboundAppName ? "app" : service.name, default: 0] += count }
        }
        for (name, count) in current where count != reportedInFlight[name] {
            metrics.adjustInFlight(service: name, by: count - (reportedInFlight[name] ?? 0))
        }
        for (name, count) in reportedInFlight where current[name] == nil {
            metrics.adjustInFlight(service: name, by: -count)
        }
        reportedInFlight = current
    }

    /// Runs each service's outlier detector for this second: success-rate evaluation at the end
    /// of each interval, and endpoints whose ejection ran out back in rotation. Ejections and
    /// returns are counted and logged.
    func tickOutlierDetection(now: UInt64) {
        let instant = Instant(nanoseconds: now)
        for index in destinations.indices where destinations[index].outlierDetection {
            let events = destinations[index].outliers.tick(now: instant)
            guard !events.isEmpty else { continue }
            let service = snapshot.services[index].name
            for event in events {
                metrics.recordOutlierEvent(event, service: service)
            }
        }
    }

    /// Records the outcome of a request to `service`'s endpoint for outlier detection, and
    /// counts an ejection it causes.
    func recordOutcome(service index: Int, ticket: BalancerTicket, success: Bool, now: UInt64) {
        guard index >= 0, index < destinations.count, destinations[index].outlierDetection else { return }
        let before = destinations[index].outliers.ejectedCount
        destinations[index].recordOutcome(ticket, success: success, now: Instant(nanoseconds: now))
        if destinations[index].outliers.ejectedCount > before {
            // The ejection waits as an event for the detector's next tick: collect it now, so
            // `/metrics` and the log show it as it happens.
            tickOutlierDetection(now: now)
        }
    }

    /// An endpoint of `service` for a new request: one neither ejected nor unhealthy, else —
    /// when every endpoint is out — any of them ("panic mode": an endpoint that may have
    /// recovered beats a certain failure). Nil when the service has no endpoint of weight > 0.
    /// `avoiding`: an endpoint key to pass over while another is available (a retry's failed
    /// endpoint).
    func pickEndpoint(service index: Int, hash: UInt64?, now: Instant, allowPanic: Bool = true, avoiding key: String? = nil) -> Int? {
        guard index >= 0, index < destinations.count else { return nil }
        if let key, let avoided = destinations[index].balancer.endpoints.firstIndex(where: { $0.key == key }),
           let picked = destinations[index].pickAvailable(now: now, hash: hash, random: &random, excluding: avoided) {
            return picked
        }
        if let picked = destinations[index].pickAvailable(now: now, hash: hash, random: &random) { return picked }
        guard allowPanic, destinations[index].hasExclusions else { return nil }
        return destinations[index].pickAny(now: now, hash: hash, random: &random)
    }

    /// Where a retry goes: another available endpoint of `backend` than the one that failed;
    /// when `backend` has no other, the rule's failover service for it; else the same endpoint
    /// again, or any of `backend` (panic mode). Nil when the service has no endpoint at all.
    func retryTarget(rule: CompiledRule?, backend: Int, hash: UInt64?, avoiding key: String?, now: Instant) -> (backend: Int, endpoint: Int)? {
        if backend >= 0, backend < destinations.count, let key,
           let avoided = destinations[backend].balancer.endpoints.firstIndex(where: { $0.key == key }),
           let picked = destinations[backend].pickAvailable(now: now, hash: hash, random: &random, excluding: avoided) {
            return (backend, picked)
        }
        if let rule, let position = rule.backends.firstIndex(of: backend), rule.failover[position] >= 0,
           let picked = pickEndpoint(service: rule.failover[position], hash: hash, now: now, allowPanic: false) {
            return (rule.failover[position], picked)
        }
        return pickEndpoint(service: backend, hash: hash, now: now).map { (backend, $0) }
    }

    /// Ends the request `ticket` stands for: the balancer's in-flight count and latency
    /// estimate, and (`success` false for a 5xx, a reset or a failed connect) outlier detection.
    func finish(_ ticket: BalancerTicket, service index: Int, success: Bool, startedAt: UInt64, now: UInt64) {
        guard index >= 0, index < destinations.count else { return }
        let instant = Instant(nanoseconds: now)
        destinations[index].balancer.requestFinished(ticket, now: instant, latency: .nanoseconds(Int64(clamping: now &- startedAt)))
        recordOutcome(service: index, ticket: ticket, success: success, now: now)
    }

    /// The `denied-by-policy` failure when the inbound listener's authorization policies deny
    /// the caller `identity` this request (`method` and `path` nil for a TCP connection) on
    /// `port`, else nil. A denial is counted by policy and logged with it.
    func authorize(identity: String?, method: Substring?, path: Substring?, port: Int, logger: Logger) -> ProxyFailure? {
        guard let table = snapshot.inboundAuthorization else { return nil }
        let decision = table.decide(AuthorizationRequest(identity: identity, method: method, path: path, port: port))
        guard case .denied(let policy, let reason) = decision else { return nil }
        metrics.recordDenial(policy: policy)
        logger.notice("denied by policy", metadata: [
            "policy": "\(policy)", "caller": "\(identity ?? "unauthenticated")", "reason": "\(reason)",
        ])
        return ProxyFailure(.deniedByPolicy, reason)
    }

    /// The `rate-limited` failure when the listener's (`listener`) or the rule's (`rule`) token
    /// bucket is empty, else nil (a token is taken). Each loop holds its share of the rate and
    /// burst, so the proxy as a whole keeps to the configured figures.
    func rateLimit(listener: String?, rule: CompiledRule?, now: UInt64) -> ProxyFailure? {
        let instant = Instant(nanoseconds: now)
        if let listener {
            guard !snapshot.listenerRateLimits.isEmpty, let spec = snapshot.listenerRateLimits[listener] else { return nil }
            var bucket = listenerLimiters[listener] ?? makeBucket(spec)
            defer { listenerLimiters[listener] = bucket }
            if bucket.tryTake(now: instant) { return nil }
            return limited(bucket, now: instant, what: "listener '\(listener)'", spec: spec)
        }
        guard let rule, let spec = rule.resilience.rateLimit else { return nil }
        var bucket = routeLimiters[rule.id] ?? makeBucket(spec)
        defer { routeLimiters[rule.id] = bucket }
        if bucket.tryTake(now: instant) { return nil }
        return limited(bucket, now: instant, what: "route \(rule.label)", spec: spec)
    }

    private func makeBucket(_ spec: RateLimitSpec) -> TokenBucket {
        TokenBucket(ratePerSecond: Double(spec.requestsPerSecond) / Double(loopCount), burst: max(1, spec.burst / loopCount))
    }

    private func limited(_ bucket: TokenBucket, now: Instant, what: String, spec: RateLimitSpec) -> ProxyFailure {
        let wait = bucket.retryAfter(now: now).nanosecondsUInt64
        let seconds = max(1, Int((wait + 999_999_999) / 1_000_000_000))
        return ProxyFailure(.rateLimited, "\(what) allows \(spec.requestsPerSecond) requests per second (burst \(spec.burst))", retryAfterSeconds: seconds)
    }

    /// Takes a connection slot of `service`'s circuit breaker for a new upstream connection;
    /// false when the service is at its `maxConnections` (on this loop's share).
    func acquireConnectionSlot(service index: Int) -> Bool {
        guard index >= 0, index < destinations.count else { return true }
        return destinations[index].breaker.tryAcquire(.connections)
    }

    /// Gives back a connection slot when the connection closes (found by name: the snapshot
    /// may have changed since it opened).
    func releaseConnectionSlot(service: String) {
        guard let index = snapshot.serviceIndex[service], index < destinations.count else { return }
        destinations[index].breaker.release(.connections)
    }

    /// Applies the endpoint keys a health checker reports failing for `service`.
    func setUnhealthy(_ keys: Set<String>, service: String) {
        unhealthyKeys[service] = keys
        if let index = snapshot.serviceIndex[service], index < destinations.count {
            destinations[index].applyHealth(keys)
        }
    }

    func stop() {
        sweeper.stop()
        maintenance?.cancel()
        tracer?.flush()
        pool.closeAll()
        h2Pool.closeAll()
        h1ClientPool.closeAll()
        mirrors.closeAll()
    }

    /// Installs a new snapshot; balancer statistics, ejections and counts in flight carry over
    /// for services and endpoints that stay. Rate limiters start full.
    func install(_ next: ProxySnapshot) {
        var byName: [String: Destination] = [:]
        for (index, service) in snapshot.services.enumerated() where index < destinations.count {
            byName[service.name] = destinations[index]
        }
        destinations = next.services.map { service in
            if var existing = byName[service.name] {
                existing.update(to: service, loops: loopCount, unhealthyKeys: unhealthyKeys[service.name] ?? [])
                return existing
            }
            var fresh = Destination(service: service, loops: loopCount)
            fresh.applyHealth(unhealthyKeys[service.name] ?? [])
            return fresh
        }
        snapshot = next
        routeMetrics = [:]
        routeLimiters = [:]
        listenerLimiters = [:]
        wakeDiscoveryWaiters()
    }

    /// How long a request for an unknown host waits for on-demand discovery.
    static let discoveryWaitNanos: UInt64 = 3_000_000_000

    /// On-demand discovery for a request on `listener` that found no route (`failure`) for
    /// `host`: the first time, the learner asks the control plane for it (once per name,
    /// however many requests wait). `.waiting`: the caller parks the request with
    /// `awaitDiscovery(until:_:)` and routes it again when woken; `.failed`: a no-route that
    /// says why; nil: not a request discovery is for (its own failure stands). `deadline`: the
    /// request's, set here (0 before its first ask); it waits `discoveryWaitNanos` at most.
    func discovery(after failure: ProxyFailure, listener: String, host: Substring, path: Substring, deadline: inout UInt64) -> DiscoveryWait? {
        guard failure.reason == .noRoute, let learner, listener == snapshot.config.proxy.outbound.name else { return nil }
        let now = NIODeadline.now().uptimeNanoseconds
        let refused = { (why: String) in DiscoveryWait.failed(ProxyFailure(.noRoute, "no route for host '\(host)' path '\(path)': \(why)")) }
        if deadline == 0 {
            switch learner.ask(host: host, now: now) {
            case .wait: deadline = now &+ Self.discoveryWaitNanos
            case .unknown: return refused(learner.whyNot(host: host))
            case .notLearnable: return nil
            }
        } else if !learner.shouldWait(host: host) {
            return refused(learner.whyNot(host: host))
        }
        guard now < deadline else { return refused("the control plane sent no configuration for it within \(Self.discoveryWaitNanos / 1_000_000) ms") }
        return .waiting
    }

    /// Holds `wake` until the next configuration or answer of the control plane, or until
    /// `deadline`: it may run for both, so the caller ignores a wake-up it no longer expects.
    func awaitDiscovery(until deadline: UInt64, _ wake: @escaping () -> Void) {
        discoveryWaiters.append(wake)
        eventLoop.scheduleTask(deadline: NIODeadline.uptimeNanoseconds(deadline), wake)
    }

    /// Wakes every request waiting for on-demand discovery; each routes again.
    func wakeDiscoveryWaiters() {
        guard !discoveryWaiters.isEmpty else { return }
        let waiters = discoveryWaiters
        discoveryWaiters = []
        for wake in waiters { wake() }
    }

    /// From now on connections close after their current request; idle ones close at once.
    func beginDraining() {
        draining = true
        sweeper.forEach { $0.drain() }
    }

    func routeMetrics(listener: String, rule: CompiledRule, backend: Int) -> RouteStats {
        let key = RouteMetricsKey(listener: listener, rule: rule.id, backend: backend)
        if let stats = routeMetrics[key] { return stats }
        let backendName = backend < snapshot.services.count ? snapshot.services[backend].name : "unknown"
        let labels = RouteStatsLabels(listener: listener, route: rule.label, backend: backendName == ProxySnapshot.inboundAppName ? "app" : backendName)
        let stats = routeStats[labels] ?? RouteStats(labels: labels)
        routeStats[labels] = stats
        routeMetrics[key] = stats
        return stats
    }

    /// What every route of this loop has counted (read on the loop, for `/metrics`).
    func routeReadings() -> [RouteStatsReading] {
        routeStats.values.map(\.reading)
    }

    func tcpMetrics(listener: String, service: String) -> TCPMetrics {
        let key = listener + "/" + service
        if let handles = tcpMetrics[key] { return handles }
        let handles = metrics.tcpHandles(listener: listener, service: service)
        tcpMetrics[key] = handles
        return handles
    }
}

struct RouteMetricsKey: Hashable {
    let listener: String
    let rule: Int
    let backend: Int
}
