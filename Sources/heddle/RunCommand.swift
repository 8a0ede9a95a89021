import ArgumentParser
import Foundation
import HeddleCore
import HeddleProxy
import HeddleSidecar
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `heddle run --service NAME --app-port N -- CMD ...`: the app and its sidecar together. The
/// app starts once the proxy runs its configuration, so its first call already goes through the
/// mesh; the instance is registered once the app listens; when the app exits, the sidecar
/// deregisters and drains, and `heddle run` exits with the app's status — so a short job ends
/// cleanly instead of leaving a sidecar behind.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run an app with its sidecar: proxy first, then the app; the app's exit stops both.",
        discussion: """
            The app gets HTTP_PROXY / http_proxy set to the sidecar's outbound listener (NO_PROXY \
            for loopback), HEDDLE_OUTBOUND, HEDDLE_SERVICE and HEDDLE_APP_PORT. SIGTERM or SIGINT \
            deregisters the instance, passes SIGTERM to the app (SIGKILL after 10 s), then drains \
            the proxy. The exit status is the app's (128 + N when a signal N ended it).
            """)

    @OptionGroup(title: "Sidecar")
    var sidecar: SidecarArguments

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .notice

    @Argument(parsing: .postTerminator, help: "The app's command and arguments, after --.")
    var command: [String] = []

    func validate() throws {
        guard !command.isEmpty else { throw ValidationError("give the app's command after --, as in: heddle run --service web --app-port 8080 -- ./web") }
        _ = try options()
    }

    /// The sidecar's options; the control plane defaults to $HEDDLE_CONTROL_PLANE, else the
    /// local one.
    func options() throws -> SidecarOptions {
        var arguments = sidecar
        if arguments.controlPlane == nil {
            arguments.controlPlane = ProcessInfo.processInfo.environment["HEDDLE_CONTROL_PLANE"] ?? "http://127.0.0.1:7470"
        }
        guard let options = try arguments.options() else { throw ValidationError("sidecar mode needs --control-plane") }
        return options
    }

    func run() async throws {
        let options = try options()
        let logger = LogSetup.bootstrap(level: logLevel)
        let (server, sidecar) = try await SidecarArguments.start(options, logger: logger)
        let app = AppProcess(command: command, options: options, server: server, sidecar: sidecar, logger: logger)
        // Shutdown runs in reverse: deregister first (no new traffic), then stop the app, then
        // drain the proxy (the app's last calls included).
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: ProxyService(server: server, logger: logger), successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
                    .init(service: app, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
                    .init(service: sidecar),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        do {
            try await group.run()
        } catch {
            logger.critical("heddle run stopped: \(error)")
            app.stop()
            throw ExitCode(1)
        }
        throw ExitCode(app.exitStatus ?? 1)
    }
}

/// The app as a lifecycle service: started once the proxy is configured, stopped with SIGTERM
/// on shutdown; its exit ends the group.
final class AppProcess: Service, Sendable {
    private let command: [String]
    private let options: SidecarOptions
    private let server: ProxyServer
    private let sidecar: Sidecar
    private let logger: Logger
    private let state = Locked<(pid: Int32?, status: Int32?)>((nil, nil))

    init(command: [String], options: SidecarOptions, server: ProxyServer, sidecar: Sidecar, logger: Logger) {
        self.command = command
        self.options = options
        self.server = server
        self.sidecar = sidecar
        self.logger = logger
    }

    var exitStatus: Int32? { state.value.status }

    func run() async throws {
        if !(await sidecar.waitUntilConfigured(timeout: .seconds(30))) {
            logger.warning("no configuration (or no workload certificate) from the control plane after 30 s; starting the app anyway (its calls fail with no-route or no-workload-identity until they arrive)")
        }
        var outbound: Int?
        for _ in 0..<500 {
            outbound = server.boundAddresses["outbound"]?.port
            if outbound != nil || Task.isShuttingDownGracefully { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        guard !Task.isShuttingDownGracefully else { return }
        let proxy = "http://\(options.outbound.host):\(outbound ?? options.outbound.port)"
        var environment = ProcessInfo.processInfo.environment
        for name in ["HTTP_PROXY", "http_proxy"] { environment[name] = proxy }
        for name in ["NO_PROXY", "no_proxy"] { environment[name] = "localhost,127.0.0.1,::1" }
        environment["HEDDLE_OUTBOUND"] = "\(options.outbound.host):\(outbound ?? options.outbound.port)"
        environment["HEDDLE_SERVICE"] = options.service
        environment["HEDDLE_APP_PORT"] = String(options.appPort)

        let pid: pid_t
        do {
            pid = try AppSpawn.spawn(command, environment: environment)
        } catch {
            logger.critical("cannot start the app", metadata: ["command": "\(command)", "error": "\(error)"])
            state.mutate { $0.status = 127 }
            return
        }
        state.mutate { $0.pid = pid }
        logger.notice("app started", metadata: ["pid": "\(pid)", "command": "\(command.joined(separator: " "))"])
        await withGracefulShutdownHandler {
            let status = await AppSpawn.exitStatus(of: pid)
            self.state.mutate { $0 = (nil, status) }
            self.logger.notice("app exited", metadata: ["status": "\(status)"])
        } onGracefulShutdown: {
            self.stop()
        }
    }

    /// SIGTERM to the app, SIGKILL 10 s later if it is still there.
    func stop() {
        guard let pid = state.value.pid else { return }
        kill(pid, SIGTERM)
        let state = self.state
        Task {
            try? await Task.sleep(for: .seconds(10))
            if state.value.pid == pid { kill(pid, SIGKILL) }
        }
    }
}
