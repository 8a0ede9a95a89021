import ArgumentParser
import Foundation
import HeddleCore
import HeddleProxy
import Logging
import ServiceLifecycle
import UnixSignals

/// `heddle proxy`: the data plane, from a static configuration file.
struct ProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Run the Heddle proxy (sidecar or gateway) from a configuration file.",
        discussion: """
            SIGTERM drains (stop accepting, finish in-flight requests, exit 0). SIGHUP or a change \
            to the file reloads it; an invalid file is refused and the running config stays.
            """
    )

    @Option(name: .shortAndLong, help: "The configuration file (YAML resources).")
    var config: String

    @Flag(help: "Validate the configuration file and exit: 0 if valid, 1 with every error if not.")
    var check = false

    @Option(help: "Event loop threads (default: one per core).")
    var workers: Int?

    @Option(help: ArgumentHelp("Seed for balancing and traffic splits, for reproducible runs.", visibility: .hidden))
    var randomSeed: UInt64?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func run() async throws {
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
        let logger = LogSetup.bootstrap(level: logLevel)
        if let workers, workers < 1 {
            throw ValidationError("--workers must be at least 1")
        }
        let server = try await ProxyServer(config: loaded, workers: workers, randomSeed: randomSeed, logger: logger)
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

extension FileHandle: @retroactive TextOutputStream {
    public func write(_ string: String) {
        write(Data(string.utf8))
    }
}
