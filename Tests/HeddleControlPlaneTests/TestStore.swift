import HeddleControlPlane
import Synchronization

/// An in-memory `Store` for the tests, following the protocol's documented semantics: one
/// revision counter for every write, compare-and-swap on `expectedRevision`, a change log.
/// It can be told to fail writes, to test how the control plane survives a failing store.
final class TestStore: Store {
    private struct State {
        var revision: Int64 = 0
        var resources: [String: StoredResource] = [:]
        var instances: [String: StoredInstance] = [:]
        var log: [StoreChange] = []
        var failWrites = false
        var writes = 0
    }

    private let state = Mutex(State())

    init() {}

    /// Makes every later write throw `StoreError.unavailable` (or succeed again).
    func failWrites(_ fail: Bool) {
        state.withLock { $0.failWrites = fail }
    }

    /// How many writes succeeded.
    var writeCount: Int { state.withLock { $0.writes } }

    func currentRevision() async throws -> Int64 {
        state.withLock { $0.revision }
    }

    func putResource(kind: String, name: String, document: String, expectedRevision: Int64?) async throws -> StoredResource {
        try state.withLock { state in
            try Self.checkWritable(state)
            let key = "\(kind)/\(name)"
            let existing = state.resources[key]
            if let expected = expectedRevision, expected != (existing?.revision ?? 0) {
                throw StoreError.conflict(resource: key, expected: expected, current: existing?.revision ?? 0)
            }
            state.revision += 1
            state.writes += 1
            let stored = StoredResource(kind: kind, name: name, document: document, createRevision: existing?.createRevision ?? state.revision, revision: state.revision)
            state.resources[key] = stored
            state.log.append(.resourcePut(stored))
            return stored
        }
    }

    func deleteResource(kind: String, name: String, expectedRevision: Int64?) async throws -> Int64 {
        try state.withLock { state in
            try Self.checkWritable(state)
            let key = "\(kind)/\(name)"
            guard let existing = state.resources[key] else {
                if let expected = expectedRevision, expected != 0 {
                    throw StoreError.conflict(resource: key, expected: expected, current: 0)
                }
                throw StoreError.notFound(resource: key)
            }
            if let expected = expectedRevision, expected != existing.revision {
                throw StoreError.conflict(resource: key, expected: expected, current: existing.revision)
            }
            state.revision += 1
            state.writes += 1
            state.resources[key] = nil
            state.log.append(.resourceDeleted(kind: kind, name: name, revision: state.revision))
            return state.revision
        }
    }

    func resource(kind: String, name: String) async throws -> StoredResource? {
        state.withLock { $0.resources["\(kind)/\(name)"] }
    }

    func resources(kind: String?) async throws -> [StoredResource] {
        state.withLock { state in
            state.resources.values
                .filter { kind == nil || $0.kind == kind }
                .sorted { ($0.kind, $0.name) < ($1.kind, $1.name) }
        }
    }

    func putInstance(_ instance: StoredInstance) async throws -> StoredInstance {
        try state.withLock { state in
            try Self.checkWritable(state)
            state.revision += 1
            state.writes += 1
            var stored = instance
            stored.revision = state.revision
            state.instances[instance.id] = stored
            state.log.append(.instancePut(stored))
            return stored
        }
    }

    func deleteInstance(id: String) async throws -> Int64? {
        try state.withLock { state in
            try Self.checkWritable(state)
            guard state.instances.removeValue(forKey: id) != nil else { return nil }
            state.revision += 1
            state.writes += 1
            state.log.append(.instanceDeleted(id: id, revision: state.revision))
            return state.revision
        }
    }

    func instances(service: String?) async throws -> [StoredInstance] {
        state.withLock { state in
            state.instances.values
                .filter { service == nil || $0.service == service }
                .sorted { ($0.service, $0.id) < ($1.service, $1.id) }
        }
    }

    func changes(after revision: Int64, limit: Int) async throws -> [StoreChange] {
        state.withLock { state in
            Array(state.log.filter { $0.revision > revision }.prefix(limit))
        }
    }

    private static func checkWritable(_ state: State) throws {
        if state.failWrites { throw StoreError.unavailable("test store: writes are failing") }
    }
}
