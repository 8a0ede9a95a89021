import AsyncHTTPClient
import Foundation
import HeddleAPI
import HeddleControlPlane
import HeddleCore
import HeddleProxy
import HeddleSidecar
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The demo's running parts, all in this process and on loopback: the control plane (its
/// SQLite store in a temporary directory), a sample app per instance, and beside each app a
/// sidecar proxy that registers it and takes its configuration from the control plane.
final class DemoMesh: Sendable {
    /// One instance and its sidecar.
    struct Member: Sendable {
        let instance: DemoInstance
        let appPort: Int
        let proxy: ProxyServer
        let sidecar: Sidecar
        let failure: FailureSwitch

        var adminPort: Int? { proxy.boundAddresses["admin"]?.port }
        var outboundPort: Int? { proxy.boundAddresses["outbound"]?.port }
    }

    let workDirectory: String
    let controlPlaneURL: String
    let members: [Member]
    private let store: SQLiteStore
    private let controlPlane: BackgroundServices
    private let apps: BackgroundServices
    private let logger: Logger

    /// Starts the control plane (on `controlPlanePort`, or a free port when that one is taken)
    /// and the apps, and makes the sidecars, which run in the caller's service group.
    init(controlPlanePort: Int, logger: Logger) async throws {
        self.logger = logger
        let workDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("heddle-demo-\(ProcessInfo.processInfo.processIdentifier)").path
        try? FileManager.default.removeItem(atPath: workDirectory)
        try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
        self.workDirectory = workDirectory
        let store = try SQLiteStore(directory: "\(workDirectory)/control-plane")
        self.store = store
        // The mesh's certificate authority: every sidecar joins with a token and talks mutual TLS.
        let authority = try IdentityFiles.load(directory: "\(workDirectory)/control-plane/identity", trustDomain: "heddle.local")

        var started: (BackgroundServices, HostPort)?
        for port in controlPlanePort == 0 ? [0] : [controlPlanePort, 0] {
            do {
                started = try await Self.startControlPlane(store: store, authority: authority, port: port, logger: logger)
                break
            } catch where port != 0 {
                logger.notice("the control plane's port is taken; using a free one", metadata: ["port": "\(port)", "error": "\(error)"])
            }
        }
        guard let (controlPlane, address) = started else { throw DemoError("the control plane did not start") }
        self.controlPlane = controlPlane
        controlPlaneURL = "http://\(address)"

        // Apps first (a sidecar needs its app's port), each knowing where its sidecar's
        // outbound listener will be once the proxy has bound it.
        let proxies = Locked<[String: ProxyServer]>([:])
        var applications: [any Service] = []
        var failures: [String: FailureSwitch] = [:]
        let (ports, portReports) = AsyncStream<(String, Int)>.makeStream()
        for instance in DemoTopology.instances {
            let failure = FailureSwitch()
            failures[instance.name] = failure
            let name = instance.name
            let app = SampleApp(
                instance: name, role: instance.role,
                outboundPort: { proxies.value[name]?.boundAddresses["outbound"]?.port },
                failing: failure, http: .shared)
            applications.append(Application(
                router: app.router(),
                configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0), serverName: nil),
                onServerRunning: { channel in
                    portReports.yield((name, channel.localAddress?.port ?? 0))
                },
                logger: logger))
        }
        apps = BackgroundServices(applications, logger: logger)
        var appPorts: [String: Int] = [:]
        for await (name, port) in ports {
            appPorts[name] = port
            if appPorts.count == DemoTopology.instances.count { break }
        }

        var members: [Member] = []
        for instance in DemoTopology.instances {
            guard let appPort = appPorts[instance.name], appPort > 0 else { throw DemoError("the sample app \(instance.name) did not start") }
            var options = SidecarOptions(
                controlPlane: controlPlaneURL, service: instance.service, appPort: appPort,
                snapshotPath: "\(workDirectory)/sidecar-\(instance.name).yaml")
            options.outbound = HostPort(host: "127.0.0.1", port: 0)
            options.inbound = HostPort(host: "127.0.0.1", port: 0)
            options.admin = HostPort(host: "127.0.0.1", port: 0)
            options.labels = instance.labels.merging(["instance": instance.name]) { $1 }
            options.leaseSeconds = 5
            options.calls = instance.calls
            options.drainGracePeriod = .seconds(2)
            options.joinToken = try authority.token(TokenRequest(service: instance.service, ttlSeconds: 600)).token
            var proxyLogger = logger
            proxyLogger[metadataKey: "instance"] = "\(instance.name)"
            let start = try Sidecar.start(options, logger: proxyLogger)
            let proxy = try await ProxyServer(config: start.config, workers: 1, meshTLS: MeshTLS(), logger: proxyLogger)
            proxies.mutate { $0[instance.name] = proxy }
            let sidecar = Sidecar(options: options, start: start, server: proxy, client: ControlPlaneClient(baseURL: controlPlaneURL), logger: proxyLogger)
            members.append(Member(instance: instance, appPort: appPort, proxy: proxy, sidecar: sidecar, failure: failures[instance.name]!))
        }
        self.members = members
    }

    /// The sidecars as services: each proxy, then its registration and watch.
    var sidecarServices: [ServiceGroupConfiguration.ServiceConfiguration] {
        members.flatMap { member in
            [
                .init(service: ProxyService(server: member.proxy, logger: logger)),
                .init(service: member.sidecar),
            ]
        }
    }

    func member(_ name: String) -> Member? {
        members.first { $0.instance.name == name }
    }

    /// Stops the apps and the control plane (after the sidecars have stopped) and removes the
    /// temporary directory.
    func stop() async {
        await apps.stop()
        await controlPlane.stop()
        try? store.close()
        try? FileManager.default.removeItem(atPath: workDirectory)
    }

    private static func startControlPlane(store: SQLiteStore, authority: WorkloadAuthority, port: Int, logger: Logger) async throws -> (BackgroundServices, HostPort) {
        var configuration = ControlPlaneServer.Configuration()
        configuration.port = port
        configuration.identity = authority
        let (listening, report) = AsyncStream<HostPort>.makeStream()
        let server = ControlPlaneServer(store: store, configuration: configuration, logger: logger) { report.yield($0) }
        let services = BackgroundServices([server], logger: logger)
        let ended = Task {
            let failure = await services.failure()
            report.finish()
            return failure
        }
        for await address in listening {
            return (services, address)
        }
        throw await ended.value ?? DemoError("the control plane stopped before it listened")
    }
}

/// Why the demo could not run.
struct DemoError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
