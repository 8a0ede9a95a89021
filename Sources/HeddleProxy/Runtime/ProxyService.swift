import HeddleCore
import Logging
import NIOCore
import ServiceLifecycle

/// Runs a `ProxyServer` as a lifecycle service: binds, serves until graceful shutdown
/// (SIGTERM), then stops accepting, drains in-flight requests for the grace period, and stops.
public struct ProxyService: Service {
    public let server: ProxyServer
    private let logger: Logger
    private let onStarted: @Sendable ([String: String]) -> Void

    public init(server: ProxyServer, logger: Logger, onStarted: @escaping @Sendable ([String: String]) -> Void = { _ in }) {
        self.server = server
        self.logger = logger
        self.onStarted = onStarted
    }

    public func run() async throws {
        try await server.start()
        onStarted(server.boundAddresses.mapValues { $0.description })
        try? await gracefulShutdown()
        let grace = server.config.proxy.http.drainGracePeriod
        logger.info("draining", metadata: ["grace_period": "\(grace.configText)"])
        await server.drain(gracePeriod: grace)
        await server.shutdown()
        logger.info("stopped")
    }
}

/// Reloads the configuration file when it changes on disk (checked every second) or on
/// SIGHUP. A file that fails validation is refused with every error logged, and the
/// configuration in force stays.
public struct ConfigReloader: Service {
    private let path: String
    private let server: ProxyServer
    private let logger: Logger
    private let signals: AsyncStream<Void>

    /// `signals` yields once per reload request (SIGHUP, wired by the executable).
    public init(path: String, server: ProxyServer, signals: AsyncStream<Void>, logger: Logger) {
        self.path = path
        self.server = server
        self.signals = signals
        self.logger = logger
    }

    public func run() async throws {
        let initial = ConfigFile.fingerprint(path)
        let signals = self.signals
        let server = self.server
        let path = self.path
        let logger = self.logger
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in signals.cancelOnGracefulShutdown() {
                    logger.info("SIGHUP: reloading configuration", metadata: ["file": "\(path)"])
                    await ConfigReloader.reload(path: path, server: server, logger: logger)
                }
            }
            group.addTask {
                var lastSeen = initial
                while !Task.isCancelled, !Task.isShuttingDownGracefully {
                    try? await Task.sleep(for: .seconds(1))
                    let now = ConfigFile.fingerprint(path)
                    if now != lastSeen {
                        lastSeen = now
                        logger.info("configuration file changed: reloading", metadata: ["file": "\(path)"])
                        await ConfigReloader.reload(path: path, server: server, logger: logger)
                    }
                }
            }
            group.addTask {
                while !Task.isCancelled, !Task.isShuttingDownGracefully {
                    let interval = server.config.services.values.map(\.dnsRefreshSeconds).min() ?? 30
                    try? await Task.sleep(for: .seconds(interval))
                    if Task.isShuttingDownGracefully { break }
                    await server.refreshDNS()
                }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
    }

    static func reload(path: String, server: ProxyServer, logger: Logger) async {
        do {
            let config = try ConfigFile.load(path)
            await server.apply(config)
        } catch {
            server.recordRefusedConfig()
            logger.error("configuration refused; the previous one stays in force", metadata: ["file": "\(path)", "errors": "\(error)"])
        }
    }
}
