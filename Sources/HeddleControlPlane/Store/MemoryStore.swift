/// A store in memory with exactly `SQLiteStore`'s semantics: one revision counter, the same
/// compare-and-swap rules, the same change log and compaction, the same ordering. For tests of
/// code built on a `Store`.
///
/// Nothing survives the process: the durability promise of `Store` does not hold here.
///
/// Keys compare as SQLite compares text, byte for byte in UTF-8, not as Swift compares
/// strings (by canonical equivalence): `é` and `e` + U+0301 are two resources, as they are in
/// SQLite, and listings are in UTF-8 byte order.
public actor MemoryStore: Store {
    /// How many of the latest changes `changes(after:limit:)` can return.
    public let retainedChanges: Int

    private var revision: Int64 = 0
    private var resourcesByKey: [StoredResourceKey: StoredResource] = [:]
    private var instancesByID: [BytewiseString: StoredInstance] = [:]
    /// The changes after `droppedRevision`, one per revision, oldest first. Changes older than
    /// the retention are dropped from the array in batches; `compactedRevision` is the exact
    /// boundary the readers see.
    private var log: [StoreChange] = []
    private var droppedRevision: Int64 = 0
    /// Whether it keeps the control plane's identity, as etcd does for replicas (SQLite does
    /// not); the identity's document and revision.
    private let keepsIdentity: Bool
    private var identityDocument: (document: String, revision: Int64)?

    /// An empty store whose change log keeps the `retainedChanges` latest changes (at least 1),
    /// as `SQLiteStore` does. `keepsIdentity`: keeps the identity as `EtcdStore` does.
    public init(retainedChanges: Int = SQLiteStore.defaultRetainedChanges, keepsIdentity: Bool = false) {
        precondition(retainedChanges >= 1, "the change log must keep at least the latest change")
        self.retainedChanges = retainedChanges
        self.keepsIdentity = keepsIdentity
    }

    public func identity() -> (document: String, revision: Int64)? {
        identityDocument
    }

    /// Writes the identity under the `Store` compare-and-swap rule; its revision is a counter of
    /// its own (no change that watches see).
    public func putIdentity(_ document: String, expectedRevision: Int64) throws -> Int64 {
        guard keepsIdentity else { throw StoreError.unavailable("this store keeps no identity: the control plane's CA is in its data directory") }
        let current = identityDocument?.revision ?? 0
        guard current == expectedRevision else { throw StoreError.conflict(resource: "identity", expected: expectedRevision, current: current) }
        identityDocument = (document, current + 1)
        return current + 1
    }

    /// The revision up to which changes are no longer kept.
    private var compactedRevision: Int64 {
        max(0, revision - Int64(retainedChanges))
    }

    /// The revision of the latest write (0 for an empty store).
    public func currentRevision() -> Int64 {
        revision
    }

    /// Creates or replaces `kind`/`name` under the `Store` compare-and-swap rules.
    public func putResource(kind: String, name: String, document: String, expectedRevision: Int64?) throws -> StoredResource {
        let key = StoredResourceKey(kind: kind, name: name)
        let existing = resourcesByKey[key]
        let current = existing?.revision ?? 0
        if let expectedRevision, expectedRevision != current {
            throw StoreError.conflict(resource: "\(kind)/\(name)", expected: expectedRevision, current: current)
        }
        let revision = nextRevision()
        let stored = StoredResource(
            kind: kind, name: name, document: document, createRevision: existing?.createRevision ?? revision, revision: revision)
        resourcesByKey[key] = stored
        append(.resourcePut(stored))
        return stored
    }

    /// Deletes `kind`/`name` under the `Store` compare-and-swap rules.
    public func deleteResource(kind: String, name: String, expectedRevision: Int64?) throws -> Int64 {
        let key = StoredResourceKey(kind: kind, name: name)
        guard let existing = resourcesByKey[key] else {
            throw StoreError.notFound(resource: "\(kind)/\(name)")
        }
        if let expectedRevision, expectedRevision != existing.revision {
            throw StoreError.conflict(resource: "\(kind)/\(name)", expected: expectedRevision, current: existing.revision)
        }
        let revision = nextRevision()
        resourcesByKey[key] = nil
        append(.resourceDeleted(kind: kind, name: name, revision: revision))
        return revision
    }

    /// The resource `kind`/`name`, or nil.
    public func resource(kind: String, name: String) -> StoredResource? {
        resourcesByKey[StoredResourceKey(kind: kind, name: name)]
    }

    /// Every resource, or those of `kind`, ordered by kind then name (UTF-8 byte order).
    public func resources(kind: String?) -> [StoredResource] {
        let kind = kind.map(BytewiseString.init)
        return resourcesByKey
            .filter { key, _ in kind.map { $0 == key.kind } ?? true }
            .sorted { $0.key < $1.key }
            .map(\.value)
    }

    /// Creates or replaces the instance `instance.id` (unconditionally).
    public func putInstance(_ instance: StoredInstance) -> StoredInstance {
        var stored = instance
        stored.revision = nextRevision()
        instancesByID[BytewiseString(instance.id)] = stored
        append(.instancePut(stored))
        return stored
    }

    /// Removes the instance; no write and no revision when there was none.
    public func deleteInstance(id: String) -> Int64? {
        guard instancesByID.removeValue(forKey: BytewiseString(id)) != nil else { return nil }
        let revision = nextRevision()
        append(.instanceDeleted(id: id, revision: revision))
        return revision
    }

    /// Every instance, or those of `service`, ordered by service then id (UTF-8 byte order).
    public func instances(service: String?) -> [StoredInstance] {
        let service = service.map(BytewiseString.init)
        return instancesByID.values
            .filter { instance in service.map { $0 == BytewiseString(instance.service) } ?? true }
            .sorted { StoredResourceKey(kind: $0.service, name: $0.id) < StoredResourceKey(kind: $1.service, name: $1.id) }
    }

    /// The changes after `revision`, oldest first, at most `limit` (none when `limit` is not
    /// positive). Works for any `revision` from `currentRevision() - retainedChanges` on;
    /// throws `StoreError.compacted` for older ones.
    public func changes(after revision: Int64, limit: Int) throws -> [StoreChange] {
        let compacted = compactedRevision
        guard revision >= compacted else {
            throw StoreError.compacted(requested: revision, oldest: compacted + 1)
        }
        guard limit > 0, revision < self.revision else { return [] }
        let start = Int(max(revision, droppedRevision) - droppedRevision)
        return Array(log[start...].prefix(limit))
    }

    private func nextRevision() -> Int64 {
        revision += 1
        return revision
    }

    /// Appends the change of the write that just took `revision`, dropping compacted changes
    /// once they are as many as the retained ones (amortized O(1) per write).
    private func append(_ change: StoreChange) {
        log.append(change)
        let compacted = compactedRevision
        if compacted - droppedRevision >= Int64(retainedChanges) {
            log.removeFirst(Int(compacted - droppedRevision))
            droppedRevision = compacted
        }
    }
}

/// A string that compares and hashes by its UTF-8 bytes, as SQLite's default collation does.
private struct BytewiseString: Hashable, Comparable {
    var value: String

    init(_ value: String) {
        self.value = value
    }

    static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.value.utf8.elementsEqual(rhs.value.utf8)
    }

    static func < (lhs: Self, rhs: Self) -> Bool {
        lhs.value.utf8.lexicographicallyPrecedes(rhs.value.utf8)
    }

    func hash(into hasher: inout Hasher) {
        for byte in value.utf8 { hasher.combine(byte) }
        hasher.combine(0xFF as UInt8)
    }
}

/// A resource's key, ordered by kind then name.
private struct StoredResourceKey: Hashable, Comparable {
    var kind: BytewiseString
    var name: BytewiseString

    init(kind: String, name: String) {
        self.kind = BytewiseString(kind)
        self.name = BytewiseString(name)
    }

    static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.kind, lhs.name) < (rhs.kind, rhs.name)
    }
}
