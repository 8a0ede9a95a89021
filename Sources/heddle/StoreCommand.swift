import ArgumentParser
import Foundation
import HeddleControlPlane

/// `heddle store migrate --from sqlite:DATA-DIR --to etcd://HOST:PORT`: moves a control plane's
/// state from one store to another (stop the control plane first).
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Manage the control plane's store.",
        subcommands: [MigrateCommand.self])

    struct MigrateCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "migrate",
            abstract: "Copy every resource, registered instance and the certificate authority from one store into another, empty one.",
            discussion: """
                Stores are sqlite:DATA-DIR (a control plane's data directory) or \\
                etcd://HOST:PORT[,HOST:PORT...][/PREFIX]. Stop the control plane on the source \\
                first: a SQLite store in use by a running control plane is refused.
                """)

        @Option(help: "The store to copy from: sqlite:DATA-DIR or etcd://HOST:PORT[/PREFIX].")
        var from: String

        @Option(help: "The store to copy into (it must be empty): sqlite:DATA-DIR or etcd://HOST:PORT[/PREFIX].")
        var to: String

        func validate() throws {
            for (flag, text) in [("--from", from), ("--to", to)] {
                guard text.hasPrefix("sqlite:") || text.hasPrefix("etcd://") else {
                    throw ValidationError("\(flag) must be sqlite:DATA-DIR or etcd://HOST:PORT[/PREFIX], not '\(text)'")
                }
                if !text.hasPrefix("sqlite:") {
                    do { _ = try StoreLocation(parsing: text) } catch { throw ValidationError(error.description) }
                }
            }
            guard from != to else { throw ValidationError("--from and --to are the same store") }
        }

        func run() async throws {
            var standardError = FileHandle.standardError
            var opened: [SQLiteStore] = []
            defer { for store in opened { try? store.close() } }
            do {
                let source = try await Self.open(from, &opened, mustExist: true)
                let destination = try await Self.open(to, &opened, mustExist: false)
                let summary = try await StoreMigration.copy(
                    from: source, to: destination, identity: (Self.identityPlace(from, source), Self.identityPlace(to, destination)))
                let identity = summary.identity ? "; the certificate authority and join-token key too" : ""
                print("copied \(summary.resources) resources and \(summary.instances) instances from \(from) to \(to) (its revision is now \(summary.revision))\(identity)")
            } catch {
                print("heddle store migrate: \(error)", to: &standardError)
                throw ExitCode(1)
            }
        }

        /// Where the control plane of the store `text` keeps its identity.
        private static func identityPlace(_ text: String, _ store: any Store) -> StoreMigration.IdentityPlace {
            store.isShared ? .store(store) : .directory("\(text.dropFirst("sqlite:".count))/identity")
        }

        private static func open(_ text: String, _ opened: inout [SQLiteStore], mustExist: Bool) async throws -> any Store {
            if text.hasPrefix("sqlite:") {
                let directory = String(text.dropFirst("sqlite:".count))
                let database = "\(directory)/\(SQLiteStore.databaseFileName)"
                guard !mustExist || FileManager.default.fileExists(atPath: database) else {
                    throw StoreError.unavailable("\(directory) holds no control plane store (no \(database))")
                }
                let store = try SQLiteStore(directory: directory)
                opened.append(store)
                return store
            }
            guard case let .etcd(endpoints, prefix, maxRequestBytes) = try StoreLocation(parsing: text) else {
                throw ValidationError("'\(text)' is not an etcd store")
            }
            let store = EtcdStore(endpoints: endpoints, prefix: prefix, maxRequestBytes: maxRequestBytes)
            _ = try await store.currentRevision()
            return store
        }
    }
}
