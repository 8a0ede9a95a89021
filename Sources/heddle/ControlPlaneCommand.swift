import ArgumentParser
import Foundation
import HeddleControlPlane
import HeddleCore
import Logging
import ServiceLifecycle
import UnixSignals

/// `heddle control-plane`: the registry, the declarative configuration and the discovery push,
/// with an embedded SQLite store in one data directory.
struct ControlPlaneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "control-plane",
        abstract: "Run the Heddle control plane (registry, configuration, discovery push).",
        discussion: """
            State lives in DATA-DIR/heddle.db (SQLite, WAL, every acknowledged write durable), \\
            or with --store etcd://HOST:PORT,... in an etcd cluster several control planes \\
            share. One control plane per data directory: a second one is refused. SIGTERM \\
            closes the watch streams, finishes requests in flight and exits 0.
            """
    )

    @Option(help: "The data directory (created if missing).")
    var dataDir = "heddle-data"

    @Option(help: "Where resources and the registry live: sqlite (DATA-DIR/heddle.db) or etcd://HOST:PORT[,HOST:PORT...][/PREFIX].")
    var store = "sqlite"

    @Option(help: "Where the API listens (host:port; port 0 picks a free one).")
    var address = "127.0.0.1:7470"

    @Option(help: "The trust domain of workload identities (spiffe://TRUST-DOMAIN/service/NAME).")
    var trustDomain = "heddle.local"

    @Option(help: "An operator's CA certificate (PEM) to sign workload certificates with, instead of a root made in the data directory.")
    var caCert: String?

    @Option(help: "The private key (PEM) of --ca-cert.")
    var caKey: String?

    @Option(help: "The certificates between --ca-cert and the organisation's root (PEM).")
    var caIntermediates: String?

    @Option(help: "The roots workloads trust (PEM; default: the last certificate of the chain).")
    var trustBundle: String?

    @Option(help: "Seconds a workload certificate lives (proxies renew at half-life).")
    var certificateLifetime = 86_400

    @Flag(help: "Ask for the admin token (DATA-DIR/admin-token) from this host too; by default a change from loopback needs none, one from another host does.")
    var requireAdminToken = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        do {
            _ = try StoreLocation(parsing: store)
        } catch {
            throw ValidationError(error.description)
        }
        guard HostPort(address) != nil else { throw ValidationError("--address must be host:port, not '\(address)'") }
        guard (2...(90 * 86_400)).contains(certificateLifetime) else { throw ValidationError("--certificate-lifetime must be between 2 seconds and 90 days") }
        if (caCert == nil) != (caKey == nil) { throw ValidationError("--ca-cert and --ca-key go together") }
        if caCert == nil, caIntermediates != nil || trustBundle != nil {
            throw ValidationError("--ca-intermediates and --trust-bundle need --ca-cert and --ca-key")
        }
    }

    func run() async throws {
        let logger = LogSetup.bootstrap(level: logLevel)
        guard let listen = HostPort(address) else { throw ExitCode(2) }
        let store: any Store
        var sqlite: SQLiteStore?
        var directoryLock: DataDirectoryLock?
        do {
            switch try StoreLocation(parsing: self.store) {
            case .sqlite:
                let opened = try SQLiteStore(directory: dataDir)
                sqlite = opened
                store = opened
            case let .etcd(endpoints, prefix, maxRequestBytes):
                // The data directory still holds this replica's admin token (the CA is in the store).
                directoryLock = try DataDirectoryLock.acquire(directory: dataDir)
                let etcd = EtcdStore(endpoints: endpoints, prefix: prefix, maxRequestBytes: maxRequestBytes)
                // Fail now, naming the members, rather than at the first request.
                let revision = try await etcd.currentRevision()
                logger.info("store", metadata: ["etcd": "\(endpoints.joined(separator: ","))", "prefix": "\(prefix)", "revision": "\(revision)"])
                store = etcd
            }
        } catch {
            var standardError = FileHandle.standardError
            print("heddle: cannot open the control plane's store: \(error)", to: &standardError)
            throw ExitCode(1)
        }
        defer {
            try? sqlite?.close()
            directoryLock?.release()
        }
        var configuration = ControlPlaneServer.Configuration()
        do {
            let token = try AdminAccess.loadOrCreateToken(at: "\(dataDir)/admin-token")
            configuration.admin = AdminAccess(token: token, requireToken: requireAdminToken)
        } catch {
            var standardError = FileHandle.standardError
            print("heddle: cannot keep the admin token in \(dataDir)/admin-token: \(error)", to: &standardError)
            throw ExitCode(1)
        }
        do {
            let operatorCA = caCert.map { IdentityFiles.OperatorCA(certificateFile: $0, privateKeyFile: caKey ?? "", intermediatesFile: caIntermediates, trustBundleFile: trustBundle) }
            if store.isShared {
                // Replicas share one CA and join-token key, kept in the store.
                configuration.identity = try await StoreIdentity.load(
                    store: store, directory: "\(dataDir)/identity", trustDomain: trustDomain, operatorCA: operatorCA,
                    certificateLifetime: .seconds(certificateLifetime), logger: logger)
            } else {
                configuration.identity = try IdentityFiles.load(
                    directory: "\(dataDir)/identity", trustDomain: trustDomain, operatorCA: operatorCA, certificateLifetime: .seconds(certificateLifetime))
            }
        } catch {
            var standardError = FileHandle.standardError
            print("heddle: cannot set up the certificate authority: \(error)", to: &standardError)
            throw ExitCode(1)
        }
        configuration.host = listen.host
        configuration.port = listen.port
        let server = ControlPlaneServer(store: store, configuration: configuration, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: server, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        do {
            try await group.run()
        } catch {
            logger.critical("control plane stopped: \(error)")
            throw ExitCode(1)
        }
    }
}
