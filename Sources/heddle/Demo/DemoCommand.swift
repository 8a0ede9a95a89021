import ArgumentParser
import Foundation
import HeddleAPI
import HeddleSidecar
import Logging
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `heddle demo`: a whole mesh in one process on loopback — the control plane, a sample app of
/// four services with a sidecar beside each instance, and a load generator — with a live view
/// of its golden metrics, a 90/10 canary split, and one instance failing midway.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a mesh with traffic: control plane, sample services with sidecars, load, and a live view.",
        discussion: """
            loadgen → web → api → users, where the route users sends 90 % to users-v1 (two \
            instances) and 10 % to the canary users-v2. Midway one users-v1 instance starts \
            failing; the api sidecars retry its failures on the other instance and eject it, and \
            the load generator keeps succeeding. Everything runs on 127.0.0.1 with a temporary \
            data directory, removed at the end. The resources applied are examples/demo.yaml.
            """
    )

    @Option(help: "Seconds of traffic; 0 runs until Ctrl-C.")
    var duration = 60

    @Option(help: "Requests per second the load generator sends.")
    var rate = 50

    @Option(help: "The control plane's API port (a free one is used when it is taken; 0 picks one).")
    var controlPlanePort = 7470

    @Flag(inversion: .prefixedNo, help: "Make one users-v1 instance fail midway.")
    var failure = true

    @Option(help: "How the view is drawn: live (redrawn in place, the default on a terminal) or plain (a frame every 5 s).")
    var view: ViewMode?

    @Flag(help: "Print the resources the demo applies (examples/demo.yaml) and exit.")
    var printResources = false

    @Option(help: "Log level of the mesh's parts (logs go to standard error).")
    var logLevel: Logger.Level = .error

    enum ViewMode: String, ExpressibleByArgument, CaseIterable {
        case live
        case plain
    }

    func validate() throws {
        guard duration >= 0 else { throw ValidationError("--duration must be 0 (until Ctrl-C) or more seconds") }
        guard (1...5000).contains(rate) else { throw ValidationError("--rate must be between 1 and 5000 requests per second") }
        guard (0...65535).contains(controlPlanePort) else { throw ValidationError("--control-plane-port must be between 0 and 65535") }
    }

    func run() async throws {
        if printResources {
            say(DemoResources.yaml)
            return
        }
        let logger = LogSetup.bootstrap(level: logLevel)
        let live = (view ?? (isatty(STDOUT_FILENO) == 1 ? .live : .plain)) == .live
        say("Heddle demo: starting a control plane and 7 instances with their sidecars on 127.0.0.1 ...")
        let mesh: DemoMesh
        do {
            mesh = try await DemoMesh(controlPlanePort: controlPlanePort, logger: logger)
        } catch {
            Self.fail("the demo mesh could not start: \(error)")
        }
        do {
            let applied = try await ControlPlaneClient(baseURL: mesh.controlPlaneURL).apply(yaml: DemoResources.yaml, dryRun: false)
            let refused = applied.items.filter { $0.action == .refused }
            guard refused.isEmpty else { throw DemoError("the control plane refused the demo's resources: \(refused.map { "\($0.kind)/\($0.name): \($0.errors.map(\.reason))" })") }
            say("""
                Control plane  \(mesh.controlPlaneURL)  (try: HEDDLE_CONTROL_PLANE=\(mesh.controlPlaneURL) heddle services)
                Applied        \(applied.items.map { "\($0.kind)/\($0.name)" }.joined(separator: ", ")) (examples/demo.yaml)
                """)
        } catch {
            await mesh.stop()
            Self.fail("\(error)")
        }

        let conductor = DemoConductor(mesh: mesh, duration: duration, rate: rate, injectFailure: failure, live: live)
        let group = ServiceGroup(configuration: .init(
            services: mesh.sidecarServices + [.init(service: AddressBook(mesh: mesh)), .init(service: conductor, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        var failure: (any Error)?
        do {
            try await group.run()
        } catch {
            failure = error
        }
        await mesh.stop()
        if let failure { Self.fail("\(failure)") }
        say("\nStopped: the sidecars deregistered and drained, the control plane stopped, its temporary data was removed.")
    }

    static func fail(_ message: String) -> Never {
        var standardError = FileHandle.standardError
        print("heddle demo: \(message)", to: &standardError)
        Foundation.exit(1)
    }
}

/// Prints where each instance's sidecar listens, once they have bound.
struct AddressBook: Service {
    let mesh: DemoMesh

    func run() async throws {
        for _ in 0..<200 where mesh.members.contains(where: { $0.adminPort == nil }) {
            try await Task.sleep(for: .milliseconds(25))
        }
        var lines = ["Sidecars (admin endpoints serve /metrics, /config, /ready):"]
        for member in mesh.members {
            let admin = member.adminPort.map { "http://127.0.0.1:\($0)/metrics" } ?? "-"
            lines.append("  \(member.instance.name.padding(toLength: 11, withPad: " ", startingAt: 0)) \(member.instance.service.padding(toLength: 9, withPad: " ", startingAt: 0)) app :\(member.appPort)  \(admin)")
        }
        say(lines.joined(separator: "\n"))
        try? await gracefulShutdown()
    }
}

/// Writes a line to standard output at once (unbuffered), so frames reach a pipe (`| tee`) as
/// they are drawn.
func say(_ text: String, terminator: String = "\n") {
    FileHandle.standardOutput.write(Data((text + terminator).utf8))
}
