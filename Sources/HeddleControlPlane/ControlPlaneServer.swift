import HeddleCore
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The control plane as a process part: loads a `ControlPlane` from its `Store`, serves the API
/// on `host:port` and runs until graceful shutdown, which closes the watch streams, stops
/// accepting and lets requests in flight finish.
public struct ControlPlaneServer: Service {
    /// Where the API listens and what it accepts.
    public struct Configuration: Sendable {
        /// 127.0.0.1 by default; the API has no authentication yet.
        public var host = "127.0.0.1"
        /// 7470 by default; 0 picks a free port (logged as `listening address=HOST:PORT`).
        public var port = 7470
        public var maxBodyBytes = ControlPlaneAPI.defaultMaxBodyBytes
        public var settings = ControlPlaneSettings()
        /// The certificate authority and join tokens; nil serves no identity routes.
        public var identity: WorkloadAuthority?
        /// Who may change the mesh (apply, delete, join tokens, root rotation).
        public var admin = AdminAccess()

        public init() {}
    }

    private let store: any Store
    private let configuration: Configuration
    private let logger: Logger
    private let onListening: @Sendable (HostPort) async -> Void

    /// `onListening` is told the bound address once the API accepts connections.
    public init(store: any Store, configuration: Configuration = Configuration(), logger: Logger, onListening: @escaping @Sendable (HostPort) async -> Void = { _ in }) {
        self.store = store
        self.configuration = configuration
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        var settings = configuration.settings
        if let identity = configuration.identity { settings.trustDomain = identity.trustDomain }
        let controlPlane = try await ControlPlane(store: store, settings: settings, logger: logger)
        let logger = self.logger
        let onListening = self.onListening
        var services: [any Service] = [ControlPlaneService(controlPlane)]
        if let identity = configuration.identity, identity.followsStore {
            services.append(IdentityFollower(authority: identity, interval: configuration.settings.identityFollowInterval, logger: logger))
        }
        let app = Application(
            router: ControlPlaneAPI.router(for: controlPlane, identity: configuration.identity, admin: configuration.admin, maxBodyBytes: configuration.maxBodyBytes),
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            services: services,
            onServerRunning: { channel in
                guard let address = channel.localAddress, let ip = address.ipAddress, let port = address.port else { return }
                let bound = HostPort(host: ip, port: port)
                logger.info("listening", metadata: ["listener": "api", "address": "\(bound)"])
                await onListening(bound)
            },
            logger: logger)
        // The watch streams never end by themselves: close them as soon as shutdown starts,
        // or the server would wait for them forever.
        try await withGracefulShutdownHandler {
            try await app.run()
        } onGracefulShutdown: {
            controlPlane.closeWatches()
        }
    }
}
