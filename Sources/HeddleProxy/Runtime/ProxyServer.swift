import HeddleAPI
import HeddleCore
import HeddleIdentity
import HeddlePolicy
import HeddleTracing
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Prometheus
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// The data plane: event loops, one `LoopContext` each, the listeners, the admin endpoint and
/// the active health checker. Configuration comes in as validated `MeshConfig`s; each becomes a
/// snapshot that every loop installs between requests, and whose health-checked services the
/// checker probes.
public final class ProxyServer: Sendable {
    public let metrics: ProxyMetrics
    let group: MultiThreadedEventLoopGroup
    private let contexts: LoopContexts
    private let healthChecker: HealthChecker
    private let logger: Logger
    private let state: NIOLockedValueBox<State>
    private let firstConfig: MeshConfig
    /// The workload identity for mutual TLS with mesh peers, when the proxy has one.
    public let meshTLS: MeshTLS?
    /// Where spans go, when the proxy traces (`tracing` in its spec).
    private let spanExporter: OTLPSpanExporter?

    private struct State {
        var generation = 1
        var config: MeshConfig
        var listeners: [any Channel] = []
        var admin: (any Channel)?
        var draining = false
        var ready = false
        var boundAddresses: [String: SocketAddress] = [:]
    }

    /// Builds the event loops and installs `config` on each; call `start()` to bind.
    /// `randomSeed` makes balancing and splits reproducible (tests); by default it is random.
    /// `meshTLS`: the proxy's workload identity, for mutual TLS on the inbound listener and to
    /// endpoints that name an identity; nil for a proxy without one.
    /// `learner`: on-demand discovery for the outbound listener (a sidecar that learns the
    /// services its app calls), or nil.
    /// On-demand discovery of the services the app calls, when the proxy learns them.
    public let learner: CallLearner?

    public init(
        config: MeshConfig, workers: Int? = nil, randomSeed: UInt64? = nil, metrics: ProxyMetrics = ProxyMetrics(), meshTLS: MeshTLS? = nil,
        learner: CallLearner? = nil, logger: Logger
    ) async throws {
        self.metrics = metrics
        self.meshTLS = meshTLS
        self.learner = learner
        self.logger = logger
        self.firstConfig = config
        let loopCount = max(1, workers ?? System.coreCount)
        group = MultiThreadedEventLoopGroup(numberOfThreads: loopCount)
        let resolved = await Self.resolve(config, logger: logger)
        let snapshot = ProxySnapshot(generation: 1, config: config, resolved: resolved)
        let accessLog = AccessLog(spec: config.proxy.accessLog)
        let loops = group
        let exporter = config.proxy.tracing.map { Self.spanExporter($0, proxy: config.proxy, group: loops, metrics: metrics, logger: logger) }
        spanExporter = exporter
        var map: [ObjectIdentifier: LoopContext] = [:]
        var seed = randomSeed ?? UInt64.random(in: 0 ... .max)
        for loop in group.makeIterator() {
            seed &+= 0x9E37_79B9_7F4A_7C15
            let tracer = exporter.map { LoopTracer(sampler: TraceSampler(sampleRate: config.proxy.tracing!.sampleRate), exporter: $0, metrics: metrics) }
            map[ObjectIdentifier(loop)] = LoopContext(
                eventLoop: loop, snapshot: snapshot, metrics: metrics, accessLog: accessLog, seed: seed, loopCount: loopCount,
                meshTLS: meshTLS, tracer: tracer, learner: learner)
        }
        let contexts = LoopContexts(map)
        self.contexts = contexts
        learner?.onWake {
            for context in contexts.all {
                context.eventLoop.execute { context.wakeDiscoveryWaiters() }
            }
        }
        // Endpoints that fail their health checks reach every loop; each applies them on its own.
        let checker = HealthChecker(eventLoop: group.next(), metrics: metrics, logger: logger, seed: seed &+ 0x9E37_79B9_7F4A_7C15) { service, unhealthy in
            for context in contexts.all {
                context.eventLoop.execute { context.setUnhealthy(unhealthy, service: service) }
            }
        }
        healthChecker = checker
        state = NIOLockedValueBox(State(config: config))
        metrics.configReloadsAccepted.increment()
        for context in contexts.all {
            try await context.eventLoop.submit { context.start() }.get()
        }
        try await checker.eventLoop.submit { checker.update(HealthCheckedService.all(in: snapshot), generation: snapshot.generation) }.get()
    }

    /// The configuration in force.
    public var config: MeshConfig { state.withLockedValue { $0.config } }

    /// Where each listener is bound (`outbound`, `inbound`, gateway names, `admin`); useful
    /// when the config asked for port 0.
    public var boundAddresses: [String: SocketAddress] { state.withLockedValue { $0.boundAddresses } }

    /// Binds every listener and the admin endpoint.
    public func start() async throws {
        let spec = firstConfig.proxy
        var bound: [String: SocketAddress] = [:]
        var channels: [any Channel] = []
        do {
            for listener in spec.routingListeners {
                let terminating = try listener.tls.map { (context: try GatewayTLS.context($0, listener: listener.name), versionWanted: GatewayTLS.versionWanted($0)) }
                let channel = try await bind(listener.address, name: listener.name, protocol: listener.protocol, tcpService: listener.tcpService, gatewayTLS: terminating)
                channels.append(channel)
                bound[listener.name] = channel.localAddress
            }
            if let inbound = spec.inbound {
                let channel = try await bind(inbound.address, name: "inbound", protocol: inbound.protocol, tcpService: inbound.protocol == .tcp ? ProxySnapshot.inboundAppName : nil, tls: inbound.tls)
                channels.append(channel)
                bound["inbound"] = channel.localAddress
            }
            let admin = try await AdminServer.bind(spec.admin, group: group, server: self)
            bound["admin"] = admin.localAddress
            state.withLockedValue {
                $0.listeners = channels
                $0.admin = admin
                $0.boundAddresses = bound
                $0.ready = true
            }
            let checker = healthChecker
            checker.eventLoop.execute { checker.start() }
        } catch {
            for channel in channels { try? await channel.close() }
            throw error
        }
        for (name, address) in bound.sorted(by: { $0.key < $1.key }) {
            logger.info("listening", metadata: ["listener": "\(name)", "address": "\(address)"])
        }
    }

    /// `tls`: the inbound listener's mutual TLS; `gatewayTLS`: a gateway's TLS termination.
    private func bind(
        _ address: HostPort, name: String, protocol listenerProtocol: ListenerProtocol, tcpService: String?,
        tls: InboundTLSMode = .disabled, gatewayTLS: (context: NIOSSLContext, versionWanted: String)? = nil
    ) async throws -> any Channel {
        let contexts = self.contexts
        let logger = self.logger
        let meshTLS = self.meshTLS
        let metrics = self.metrics
        do {
            return try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 1024)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.allowRemoteHalfClosure, value: false)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        guard let context = contexts[channel.eventLoop] else { throw ChannelError.ioOnClosedChannel }
                        if let gatewayTLS {
                            try channel.pipeline.syncOperations.addHandlers([
                                NIOSSLServerHandler(context: gatewayTLS.context),
                                TLSHandshakeGuard(
                                    peer: nil, accepted: nil, refused: nil,
                                    refusal: .init(message: "TLS handshake with a client failed", level: .info, versionWanted: gatewayTLS.versionWanted, listener: name),
                                    logger: logger),
                            ])
                        }
                        try InboundTLS.configure(channel, mode: tls, tls: meshTLS, metrics: metrics, logger: logger) { peer in
                            ListenerPipeline.firstHandler(
                                protocol: listenerProtocol, listener: name, tcpService: tcpService,
                                context: context, logger: logger, peer: peer)
                        }
                    }
                }
                .bind(host: address.host, port: address.port)
                .get()
        } catch {
            throw ProxyStartError(message: "cannot listen on \(address) for \(name): \(error)")
        }
    }

    /// Validates nothing (the caller has): installs `config` on every loop. Requests in flight
    /// finish on the snapshot they started with. Listener addresses are fixed at start.
    public func apply(_ config: MeshConfig) async {
        let resolved = await Self.resolve(config, logger: logger)
        let generation = state.withLockedValue { state -> Int in
            state.generation += 1
            state.config = config
            return state.generation
        }
        if config.proxy.routingListeners.map(\.address) != firstConfig.proxy.routingListeners.map(\.address)
            || config.proxy.inbound?.address != firstConfig.proxy.inbound?.address || config.proxy.admin != firstConfig.proxy.admin
            || config.proxy.routingListeners.map(\.tls) != firstConfig.proxy.routingListeners.map(\.tls)
            || config.proxy.inbound?.tls != firstConfig.proxy.inbound?.tls {
            logger.warning("listener addresses or TLS settings changed in the config; they take effect at the next restart")
        }
        install(ProxySnapshot(generation: generation, config: config, resolved: resolved))
        metrics.configReloadsAccepted.increment()
        logger.info("configuration applied", metadata: ["generation": "\(generation)"])
    }

    /// Which of `names` (hosts of the outbound listener) requests took a route of since the
    /// last look (`CompiledRule.takeUse`): how on-demand discovery finds the learned services
    /// the app no longer calls. A rule several names share counts for each of them.
    public func namesUsed(_ names: [String]) async -> Set<String> {
        guard !names.isEmpty, let current = contexts.all.first,
              let snapshot = try? await current.eventLoop.submit({ current.snapshot }).get(),
              let table = snapshot.routeTables[snapshot.config.proxy.outbound.name]
        else { return [] }
        var taken: [ObjectIdentifier: Bool] = [:]
        var used: Set<String> = []
        for name in names {
            for rule in table.rules(forHost: name) {
                let key = ObjectIdentifier(rule)
                let wasUsed = taken[key] ?? rule.takeUse()
                taken[key] = wasUsed
                if wasUsed { used.insert(name) }
            }
        }
        return used
    }

    /// Re-resolves DNS names and installs a new snapshot when any address changed.
    public func refreshDNS() async {
        let config = self.config
        let resolved = await Self.resolve(config, logger: logger)
        guard let current = contexts.all.first else { return }
        let existing = try? await current.eventLoop.submit { current.snapshot }.get()
        let changed = existing.map { snapshot in
            snapshot.services.contains { service in (resolved.endpoints[service.name] ?? []) != service.endpoints }
        } ?? true
        guard changed else { return }
        let generation = state.withLockedValue { state -> Int in
            state.generation += 1
            return state.generation
        }
        install(ProxySnapshot(generation: generation, config: config, resolved: resolved))
        logger.info("endpoints changed after DNS refresh", metadata: ["generation": "\(generation)"])
    }

    /// Records a refused configuration in the metrics.
    public func recordRefusedConfig() {
        metrics.configReloadsRefused.increment()
    }

    private func install(_ snapshot: ProxySnapshot) {
        for context in contexts.all {
            context.eventLoop.execute { context.install(snapshot) }
        }
        let checker = healthChecker
        checker.eventLoop.execute {
            checker.update(HealthCheckedService.all(in: snapshot), generation: snapshot.generation)
        }
    }

    /// The remembered failures of request `id` (nil: the most recent ones), from every event
    /// loop, as JSON lines.
    func failures(id: String?, on eventLoop: any EventLoop) -> EventLoopFuture<[String]> {
        let identity = meshTLS?.identity?.description
        let futures = contexts.all.map { context in context.eventLoop.submit { context.failures.lines(id: id, proxyIdentity: identity) } }
        return EventLoopFuture.whenAllSucceed(futures, on: eventLoop).map { $0.flatMap { $0 } }
    }

    /// `/metrics`: the route counters and histograms of every loop (read on each, added up),
    /// then the registry's families.
    func metricsText(on eventLoop: any EventLoop) -> EventLoopFuture<[UInt8]> {
        let futures = contexts.all.map { context in context.eventLoop.submit { context.routeReadings() } }
        let registry = metrics.registry
        return EventLoopFuture.whenAllSucceed(futures, on: eventLoop).map { readings in
            var text: [UInt8] = []
            RouteStatsText.render(RouteStatsText.merged(readings), into: &text)
            registry.emit(into: &text)
            return text
        }
    }

    /// The endpoints of `service` with their state over every worker; nil when the proxy does
    /// not send to the service.
    func endpoints(service: String, on eventLoop: any EventLoop) -> EventLoopFuture<[EndpointState]?> {
        let futures = contexts.all.map { context in
            context.eventLoop.submit { EndpointStates.onWorker(service: service, loop: context, now: NIODeadline.now().uptimeNanoseconds) }
        }
        return EventLoopFuture.whenAllSucceed(futures, on: eventLoop).map { views in
            let known = views.compactMap { $0 }
            return known.isEmpty ? nil : EndpointStates.merged(known)
        }
    }

    /// What the proxy would do with `request` on `listener`, as one worker sees it.
    func preview(_ request: DescribedRequest, listener: String, on eventLoop: any EventLoop) -> EventLoopFuture<RoutePreview> {
        guard let context = contexts.all.first else {
            return eventLoop.makeSucceededFuture(RoutePreview(listener: listener, host: "", path: "", method: "", failure: "the proxy has no worker", fault: false, mirrors: [], backends: []))
        }
        return context.eventLoop.submit {
            RequestPreview.make(request, listener: listener, loop: context, now: NIODeadline.now().uptimeNanoseconds)
        }.hop(to: eventLoop)
    }

    /// Starts sending matching requests to `tap`, on every event loop.
    func addTap(_ tap: TapSubscription) {
        metrics.tapsOpen.increment()
        for context in contexts.all {
            context.eventLoop.execute { context.addTap(tap) }
        }
    }

    func removeTap(_ tap: TapSubscription) {
        metrics.tapsOpen.decrement()
        for context in contexts.all {
            context.eventLoop.execute { context.removeTap(tap) }
        }
    }

    var isReady: Bool { state.withLockedValue { $0.ready && !$0.draining } }

    var currentGeneration: Int { state.withLockedValue { $0.generation } }

    /// Stops accepting, lets connections finish their current request, and waits up to
    /// `gracePeriod` for them; then closes what is left.
    public func drain(gracePeriod: Duration) async {
        let channels = state.withLockedValue { state -> [any Channel] in
            state.draining = true
            return state.listeners
        }
        for channel in channels { try? await channel.close() }
        for context in contexts.all {
            context.eventLoop.execute { context.beginDraining() }
        }
        let deadline = ContinuousClock.now + gracePeriod
        while ContinuousClock.now < deadline {
            var open = 0
            for context in contexts.all {
                open += (try? await context.eventLoop.submit { context.activeConnections }.get()) ?? 0
            }
            if open == 0 { break }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Stops the health checks, closes the admin endpoint and every connection, and stops the
    /// event loops.
    public func shutdown() async {
        let checker = healthChecker
        try? await checker.eventLoop.flatSubmit { checker.stop() }.get()
        let admin = state.withLockedValue { $0.admin }
        try? await admin?.close()
        for context in contexts.all {
            try? await context.eventLoop.submit { context.stop() }.get()
        }
        // The loops handed over their last spans as they stopped; they go out before the end.
        await spanExporter?.shutdown()
        try? await group.shutdownGracefully()
    }

    /// The exporter for `tracing`: spans carry the service's name (the spec's, else the
    /// inbound listener's service, else `heddle-proxy`) and are counted by outcome.
    private static func spanExporter(_ tracing: TracingSpec, proxy: ProxySpec, group: any EventLoopGroup, metrics: ProxyMetrics, logger: Logger) -> OTLPSpanExporter {
        let serviceName = tracing.serviceName ?? proxy.inbound?.service ?? "heddle-proxy"
        let resource = [
            SpanAttribute("service.name", serviceName),
            SpanAttribute("telemetry.sdk.name", "heddle"),
        ]
        logger.info("tracing", metadata: ["collector": "\(tracing.exportURL)", "sample_rate": "\(tracing.sampleRate)", "service_name": "\(serviceName)"])
        return OTLPSpanExporter(url: tracing.exportURL, resource: resource, eventLoopGroup: group, logger: logger) { outcome, count in
            metrics.recordSpans(outcome, count: count)
        }
    }

    static func resolve(_ config: MeshConfig, logger: Logger) async -> Resolution {
        let targets = ProxySnapshot.targets(of: config)
        return await withTaskGroup(of: (String, [ResolvedEndpoint], [String]).self) { group in
            for (service, endpoints) in targets {
                group.addTask {
                    var resolved: [ResolvedEndpoint] = []
                    var failures: [String] = []
                    for endpoint in endpoints {
                        do {
                            for address in try DNSResolver.resolve(endpoint.address) {
                                resolved.append(ResolvedEndpoint(address: address, weight: endpoint.weight, configured: endpoint.address, identity: endpoint.identity))
                            }
                        } catch {
                            failures.append("\(error)")
                            logger.warning("endpoint not resolved", metadata: ["service": "\(service)", "error": "\(error)"])
                        }
                    }
                    return (service, resolved, failures)
                }
            }
            var result = Resolution()
            for await (service, endpoints, failures) in group {
                result.endpoints[service] = endpoints
                if !failures.isEmpty { result.failures[service] = failures }
            }
            return result
        }
    }
}

/// Every service's endpoints resolved to addresses, and the names that did not resolve.
struct Resolution: Sendable {
    var endpoints: [String: [ResolvedEndpoint]] = [:]
    var failures: [String: [String]] = [:]
}

/// A listener that could not be bound, or another failure at start.
public struct ProxyStartError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// The per-loop contexts, found by event loop. Each context is used only on its own loop,
/// which is what makes sharing the map across threads sound.
struct LoopContexts: @unchecked Sendable {
    private let map: [ObjectIdentifier: LoopContext]
    let all: [LoopContext]

    init(_ map: [ObjectIdentifier: LoopContext]) {
        self.map = map
        all = Array(map.values)
    }

    subscript(loop: any EventLoop) -> LoopContext? {
        map[ObjectIdentifier(loop)]
    }
}
