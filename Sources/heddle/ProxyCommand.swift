import ArgumentParser
import Foundation
import HeddleCore
import HeddleProxy
import HeddleSidecar
import Logging
import ServiceLifecycle
import UnixSignals

/// `heddle proxy`: the data plane, from a static configuration file, or as a sidecar fed by
/// the control plane.
struct ProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Run the Heddle proxy: from a configuration file, or as a sidecar of the control plane.",
        discussion: """
            With --config: SIGHUP or a change to the file reloads it; an invalid file is refused \
            and the running config stays. With --control-plane, --service and --app-port: the \
            proxy registers its instance, receives its configuration by push, and keeps serving \
            its last good configuration (kept on disk) while the control plane is unreachable. \
            SIGTERM drains (stop accepting, finish in-flight requests, exit 0).
            """
    )

    @Option(name: .shortAndLong, help: "The configuration file (YAML resources).")
    var config: String?

    @OptionGroup(title: "Sidecar mode")
    var sidecar: SidecarArguments

    @Flag(help: "Validate the configuration file and exit: 0 if valid, 1 with every error if not.")
    var check = false

    @Option(help: "Event loop threads (default: one per core).")
    var workers: Int?

    @Option(help: ArgumentHelp("Seed for balancing and traffic splits, for reproducible runs.", visibility: .hidden))
    var randomSeed: UInt64?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        if config == nil, sidecar.controlPlane == nil {
            throw ValidationError("give --config FILE, or --control-plane URL with --service and --app-port for sidecar mode")
        }
        if config != nil, sidecar.controlPlane != nil {
            throw ValidationError("--config and --control-plane exclude each other: a sidecar takes its configuration from the control plane")
        }
        if let workers, workers < 1 {
            throw ValidationError("--workers must be at least 1")
        }
        if sidecar.controlPlane != nil {
            _ = try sidecar.options()
        }
    }

    func run() async throws {
        if let sidecarOptions = try sidecar.options() {
            try await runSidecar(sidecarOptions)
            return
        }
        guard let config else { return }
        let loaded: MeshConfig
        do {
            loaded = try ConfigFile.load(config)
        } catch {
            var standardError = FileHandle.standardError
            print("heddle: configuration refused: \(config)\n\(error)", to: &standardError)
            throw ExitCode(1)
        }
        if check {
            print("\(config): valid (\(loaded.services.count) services, \(loaded.routes.count) routes)")
            return
        }
        let meshTLS = try staticIdentity(for: loaded)
        let logger = LogSetup.bootstrap(level: logLevel)
        let server = try await ProxyServer(config: loaded, workers: workers, randomSeed: randomSeed, meshTLS: meshTLS, logger: logger)
        let (reloads, continuation) = AsyncStream<Void>.makeStream()
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let signalTask = Task {
            for await _ in hangups { continuation.yield() }
        }
        defer { signalTask.cancel() }
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: ProxyService(server: server, logger: logger), successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
                    .init(service: ConfigReloader(path: config, server: server, signals: reloads, logger: logger)),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            ))
        do {
            try await group.run()
        } catch {
            logger.critical("proxy stopped: \(error)")
            throw ExitCode(1)
        }
    }
}

extension ProxyCommand {
    /// A proxy run from a file has a workload identity when `--identity-dir` holds one
    /// (`chain.pem`, `key.pem`, `bundle.pem`, as a sidecar keeps them; read at start). Its
    /// inbound listener requires mutual TLS unless the file says `tls: disabled`: without an
    /// identity that is refused here, with the ways out.
    func staticIdentity(for config: MeshConfig) throws -> MeshTLS? {
        var standardError = FileHandle.standardError
        guard let directory = sidecar.identityDir else {
            if let inbound = config.proxy.inbound, inbound.tls != .disabled {
                print("heddle: the inbound listener requires mutual TLS (inbound.tls: \(inbound.tls.rawValue), the default) and this proxy has no workload identity: give --identity-dir DIR (chain.pem, key.pem, bundle.pem), run it as a sidecar with a join token, or set inbound.tls: disabled for a plaintext mesh hop", to: &standardError)
                throw ExitCode(1)
            }
            return nil
        }
        let meshTLS = MeshTLS()
        do {
            let read = { (name: String) throws -> String in try String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8) }
            try meshTLS.install(chainPEM: read("chain.pem"), keyPEM: read("key.pem"), bundlePEM: read("bundle.pem"))
        } catch {
            print("heddle: --identity-dir \(directory): \(error)", to: &standardError)
            throw ExitCode(1)
        }
        return meshTLS
    }

    /// Sidecar mode: the proxy starts from its last kept configuration (or none), registers,
    /// and follows the control plane's pushes.
    func runSidecar(_ options: SidecarOptions) async throws {
        let logger = LogSetup.bootstrap(level: logLevel)
        let (server, sidecar) = try await SidecarArguments.start(options, workers: workers, randomSeed: randomSeed, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: ProxyService(server: server, logger: logger), successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
                    .init(service: sidecar),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            ))
        do {
            try await group.run()
        } catch {
            logger.critical("proxy stopped: \(error)")
            throw ExitCode(1)
        }
    }
}

extension SidecarArguments {
    /// The proxy of a sidecar, from its last kept configuration (or none), and the sidecar that
    /// registers it and follows the pushes; a refused configuration of its own ends the command
    /// with the reason and exit code 1.
    static func start(_ options: SidecarOptions, workers: Int? = nil, randomSeed: UInt64? = nil, logger: Logger) async throws -> (ProxyServer, Sidecar) {
        let initial: Sidecar.Start
        do {
            initial = try Sidecar.start(options, logger: logger)
        } catch {
            var standardError = FileHandle.standardError
            print("heddle: the sidecar's own configuration is refused:\n\(error)", to: &standardError)
            throw ExitCode(1)
        }
        if let problem = Sidecar.identityProblem(options) {
            var standardError = FileHandle.standardError
            print("heddle: \(problem)", to: &standardError)
            throw ExitCode(1)
        }
        let learner = options.learnCalls
            ? CallLearner(declared: options.calls ?? [], forgetAfter: options.forgetCallsAfter) : nil
        let server = try await ProxyServer(config: initial.config, workers: workers, randomSeed: randomSeed, meshTLS: MeshTLS(), learner: learner, logger: logger)
        return (server, Sidecar(options: options, start: initial, server: server, client: ControlPlaneClient(baseURL: options.controlPlane), logger: logger))
    }
}

/// The flags of sidecar mode.
struct SidecarArguments: ParsableArguments {
    @Option(help: "The control plane's URL (sidecar mode), such as http://127.0.0.1:7470.")
    var controlPlane: String?

    @Option(help: "The service this instance belongs to (sidecar mode).")
    var service: String?

    @Option(help: "The local app's port (sidecar mode).")
    var appPort: Int?

    @Option(help: "The local app's host.")
    var appHost = "127.0.0.1"

    @Option(help: "What the app speaks: http1, http2 or grpc.")
    var appProtocol = "http1"

    @Option(help: "The outbound listener (app → mesh).")
    var outbound = "127.0.0.1:4140"

    @Option(help: "The inbound listener (mesh → app).")
    var inbound = "0.0.0.0:4143"

    @Option(help: "The admin listener.")
    var admin = "127.0.0.1:4191"

    @Option(help: "The host other proxies reach this instance's inbound listener at (default: the inbound host, 127.0.0.1 for 0.0.0.0).")
    var advertiseAddress: String?

    @Option(name: .customLong("label"), help: "A label of the instance, key=value (repeatable).")
    var labels: [String] = []

    @Option(help: "The instance's relative weight.")
    var weight = 1

    @Option(help: "Seconds the control plane keeps the instance without a heartbeat.")
    var leaseSeconds = 10

    @Option(help: "Where the sidecar keeps its last accepted configuration (default: ~/.heddle/sidecar-SERVICE-PORT.yaml).")
    var snapshot: String?

    @Option(help: "A join token (heddle token create) that gets the proxy its workload certificate; also $HEDDLE_JOIN_TOKEN.")
    var joinToken: String?

    @Option(help: "Where the workload key and certificate are kept (default: the snapshot path + .identity).")
    var identityDir: String?

    @Option(help: "Mutual TLS on the inbound listener: strict (only mesh peers with a certificate of this mesh), permissive (also plaintext, for migration) or disabled.")
    var inboundTls = "strict"

    @Option(help: "Seconds between fetches of the trust bundle (a root rotation's phases reach the proxy within it).")
    var trustRefreshInterval = 30

    @Option(help: "The services the app calls, comma-separated ('' for none): the proxy is pushed only those, the routes that may serve them and what those routes send to (default: the whole mesh).")
    var calls: String?

    @Flag(help: "Learn the services the app calls on its first request to each (on-demand discovery): the proxy is pushed only those (and --calls, if given); a first request waits for its service's configuration, at most 3 s.")
    var learnCalls = false

    @Option(help: "With --learn-calls: seconds a learned service may go without a request before the proxy forgets it (out of its watch and memory; the next request learns it again); 0 never forgets.")
    var forgetCallsAfter = 600

    @Option(help: "The app's health check path (GET, 2xx/3xx passes) for an http1 app; without it, the check is that the app's port accepts connections.")
    var appHealthPath: String?

    @Option(help: "Seconds between checks of the app; 3 failures in a row report the instance unhealthy, 2 passes healthy again.")
    var appHealthInterval = 5

    @Option(help: "Seconds SIGTERM waits for requests in flight before closing what is left (default 30).")
    var drainGracePeriod: Int?

    @Option(help: "An OTLP/HTTP collector (http://host:4318) to export a span per request to; also $HEDDLE_TRACE_COLLECTOR. Without it, the proxy records no spans.")
    var traceCollector: String?

    @Option(help: "The share of new traces recorded, 0 to 1 (default 0.01); requests that fail are always recorded.")
    var traceSampleRate: Double?

    /// The options, or nil outside sidecar mode; throws a `ValidationError` naming what is wrong.
    func options() throws -> SidecarOptions? {
        guard let controlPlane else { return nil }
        guard controlPlane.hasPrefix("http://") || controlPlane.hasPrefix("https://") else {
            throw ValidationError("--control-plane must be a URL such as http://127.0.0.1:7470, not '\(controlPlane)'")
        }
        guard let service, !service.isEmpty else { throw ValidationError("sidecar mode needs --service NAME") }
        guard let appPort, (1...65535).contains(appPort) else { throw ValidationError("sidecar mode needs --app-port between 1 and 65535") }
        guard let appProtocol = UpstreamProtocol(rawValue: appProtocol), appProtocol != .tcp else {
            throw ValidationError("--app-protocol must be http1, http2 or grpc, not '\(self.appProtocol)'")
        }
        func hostPort(_ text: String, _ flag: String) throws -> HostPort {
            guard let value = HostPort(text) else { throw ValidationError("\(flag) must be host:port, not '\(text)'") }
            return value
        }
        let inboundAddress = try hostPort(inbound, "--inbound")
        let home = ProcessInfo.processInfo.environment["HOME"] ?? "."
        var options = SidecarOptions(
            controlPlane: controlPlane, service: service, appPort: appPort,
            snapshotPath: snapshot ?? "\(home)/.heddle/sidecar-\(service)-\(inboundAddress.port).yaml")
        options.appHost = appHost
        options.appProtocol = appProtocol
        options.outbound = try hostPort(outbound, "--outbound")
        options.inbound = inboundAddress
        options.admin = try hostPort(admin, "--admin")
        options.advertiseHost = advertiseAddress
        options.weight = weight
        options.leaseSeconds = leaseSeconds
        options.joinToken = joinToken ?? ProcessInfo.processInfo.environment["HEDDLE_JOIN_TOKEN"]
        options.identityDirectory = identityDir
        guard let inboundTLS = InboundTLSMode(rawValue: inboundTls) else {
            throw ValidationError("--inbound-tls must be strict, permissive or disabled, not '\(inboundTls)'")
        }
        options.inboundTLS = inboundTLS
        guard (1...3600).contains(trustRefreshInterval) else { throw ValidationError("--trust-refresh-interval must be between 1 and 3600 seconds") }
        options.trustRefreshInterval = .seconds(trustRefreshInterval)
        if let calls {
            // `--calls ''`: the app calls nothing in the mesh.
            let names = calls.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            if let bad = names.first(where: { !ResourceMetadata.isValidName($0) }) {
                throw ValidationError("--calls: '\(bad)' is not a valid service name")
            }
            options.calls = names
        }
        options.learnCalls = learnCalls
        guard forgetCallsAfter >= 0 else { throw ValidationError("--forget-calls-after must be 0 (never) or a number of seconds, not \(forgetCallsAfter)") }
        options.forgetCallsAfter = forgetCallsAfter > 0 ? .seconds(forgetCallsAfter) : nil
        guard appHealthInterval >= 1 else { throw ValidationError("--app-health-interval must be at least 1 second") }
        options.appHealthInterval = .seconds(appHealthInterval)
        if let appHealthPath {
            guard appHealthPath.hasPrefix("/"), !appHealthPath.contains(where: { $0 == " " || $0.isNewline }) else {
                throw ValidationError("--app-health-path must be a path such as /healthz, not '\(appHealthPath)'")
            }
            options.appHealthPath = appHealthPath
        }
        if let drainGracePeriod {
            guard drainGracePeriod >= 1 else { throw ValidationError("--drain-grace-period must be at least 1 second") }
            options.drainGracePeriod = .seconds(drainGracePeriod)
        }
        if let collector = traceCollector ?? ProcessInfo.processInfo.environment["HEDDLE_TRACE_COLLECTOR"], !collector.isEmpty {
            if let problem = TracingSpec.problem(withCollector: collector) { throw ValidationError("--trace-collector: \(problem)") }
            options.tracing = TracingSpec(collector: collector, serviceName: service)
        }
        if let traceSampleRate {
            guard (0...1).contains(traceSampleRate) else { throw ValidationError("--trace-sample-rate must be between 0 and 1, not \(traceSampleRate)") }
            guard options.tracing != nil else { throw ValidationError("--trace-sample-rate needs --trace-collector") }
            options.tracing?.sampleRate = traceSampleRate
        }
        for label in labels {
            let parts = label.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, !parts[0].isEmpty else { throw ValidationError("--label must be key=value, not '\(label)'") }
            options.labels[String(parts[0])] = String(parts[1])
        }
        return options
    }
}

extension FileHandle: @retroactive TextOutputStream {
    public func write(_ string: String) {
        write(Data(string.utf8))
    }
}
