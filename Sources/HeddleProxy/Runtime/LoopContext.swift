import HeddleCore
import HeddlePolicy
import NIOCore

/// Everything the data path keeps per event loop: the snapshot in force, balancer state per
/// service, the upstream pool, the deadline sweeper and a random source. Touched only on its
/// own event loop, so nothing here takes a lock; it is `Sendable` only so it can be handed to
/// its loop, and every use after that happens on that loop.
final class LoopContext: @unchecked Sendable {
    let eventLoop: any EventLoop
    let metrics: ProxyMetrics
    private(set) var snapshot: ProxySnapshot
    /// Balancers in `snapshot.services` order.
    var balancers: [LoadBalancer]
    let pool = UpstreamPool()
    /// HTTP/2 connections to `http2` and `grpc` endpoints, multiplexing this loop's streams.
    let h2Pool = HTTP2ConnectionPool()
    /// HTTP/1.1 connections for HTTP/2 streams whose backend speaks HTTP/1.1.
    let h1ClientPool = HTTP1ClientPool()
    let sweeper: TimeoutSweeper
    var random: Xoshiro256StarStar
    /// Set on SIGTERM: connections finish their current request and close.
    private(set) var draining = false
    /// Open downstream connections on this loop, to close them when draining.
    var activeConnections: Int = 0
    private var routeMetrics: [RouteMetricsKey: RouteMetrics] = [:]
    private var tcpMetrics: [String: TCPMetrics] = [:]
    private var maintenance: RepeatedTask?
    let accessLog: AccessLog

    init(eventLoop: any EventLoop, snapshot: ProxySnapshot, metrics: ProxyMetrics, accessLog: AccessLog, seed: UInt64) {
        self.eventLoop = eventLoop
        self.snapshot = snapshot
        self.metrics = metrics
        self.accessLog = accessLog
        self.sweeper = TimeoutSweeper(eventLoop: eventLoop)
        self.random = Xoshiro256StarStar(seed: seed)
        self.balancers = snapshot.services.map { LoadBalancer(algorithm: $0.algorithm, endpoints: $0.balancerEndpoints) }
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
        }
    }

    func stop() {
        sweeper.stop()
        maintenance?.cancel()
        pool.closeAll()
        h2Pool.closeAll()
        h1ClientPool.closeAll()
    }

    /// Installs a new snapshot; balancer stats carry over for services and endpoints that stay.
    func install(_ next: ProxySnapshot) {
        var byName: [String: LoadBalancer] = [:]
        for (index, service) in snapshot.services.enumerated() where index < balancers.count {
            byName[service.name] = balancers[index]
        }
        balancers = next.services.map { service in
            if var existing = byName[service.name], existing.algorithm == service.algorithm {
                existing.update(endpoints: service.balancerEndpoints)
                return existing
            }
            return LoadBalancer(algorithm: service.algorithm, endpoints: service.balancerEndpoints)
        }
        snapshot = next
        routeMetrics = [:]
    }

    /// From now on connections close after their current request; idle ones close at once.
    func beginDraining() {
        draining = true
        sweeper.forEach { $0.drain() }
    }

    func routeMetrics(listener: String, rule: CompiledRule, backend: Int) -> RouteMetrics {
        let key = RouteMetricsKey(listener: listener, rule: rule.id, backend: backend)
        if let handles = routeMetrics[key] { return handles }
        let backendName = backend < snapshot.services.count ? snapshot.services[backend].name : "unknown"
        let handles = metrics.routeHandles(listener: listener, route: rule.label, backend: backendName == ProxySnapshot.inboundAppName ? "app" : backendName)
        routeMetrics[key] = handles
        return handles
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
