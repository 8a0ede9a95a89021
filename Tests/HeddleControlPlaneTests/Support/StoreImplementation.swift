import HeddleControlPlane
import Testing

/// The stores the contract tests run against: each test runs once per implementation.
enum StoreImplementation: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory
    case sqlite
    case etcd

    var testDescription: String { rawValue }

    /// The revision of a new, empty store: 0, or for etcd the revision a new cluster starts at
    /// (its revisions are etcd's).
    var base: Int64 { self == .etcd ? 1 : 0 }

    /// Runs `body` with a new, empty store; a SQLite store lives in a temporary directory that
    /// is removed afterwards, an etcd store on an etcd of its own that is stopped afterwards.
    func withStore(retainedChanges: Int = SQLiteStore.defaultRetainedChanges, _ body: (any Store) async throws -> Void) async throws {
        switch self {
        case .memory:
            try await body(MemoryStore(retainedChanges: retainedChanges))
        case .sqlite:
            try await withTemporaryDirectory { directory in
                let store = try SQLiteStore(directory: directory + "/data", retainedChanges: retainedChanges)
                defer { try? store.close() }
                try await body(store)
            }
        case .etcd:
            let server = try await EtcdServer.start()
            defer { server.stop() }
            try await body(EtcdStore(endpoints: [server.clientURL], retainedChanges: retainedChanges))
        }
    }
}
