import HeddleControlPlane
import Testing

/// The stores the contract tests run against: each test runs once per implementation.
enum StoreImplementation: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory
    case sqlite

    var testDescription: String { rawValue }

    /// Runs `body` with a new, empty store; a SQLite store lives in a temporary directory that
    /// is removed afterwards.
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
        }
    }
}
