/// Where the control plane keeps resources and registered instances: SQLite (`SQLiteStore`,
/// the default) on one node, etcd across replicas later. Every write gets the next revision
/// of one counter for the whole store, so a reader can ask for everything that changed after
/// a revision (how watches resume), and a write can be made conditional on the revision it
/// read (compare-and-swap).
///
/// An acknowledged write is durable: it survives `kill -9` of the process at any moment.
public protocol Store: Sendable {
    /// The revision of the latest write (0 for an empty store).
    func currentRevision() async throws -> Int64

    /// Creates or replaces the resource `kind`/`name`. `expectedRevision`: nil writes
    /// unconditionally; 0 requires that the resource does not exist; any other value requires
    /// that its current revision is that one. Throws `StoreError.conflict` otherwise.
    func putResource(kind: String, name: String, document: String, expectedRevision: Int64?) async throws -> StoredResource

    /// Deletes the resource; returns the revision of the deletion. Throws `notFound` when it
    /// does not exist, `conflict` when `expectedRevision` does not match.
    func deleteResource(kind: String, name: String, expectedRevision: Int64?) async throws -> Int64

    /// The resource `kind`/`name`, or nil when it does not exist.
    func resource(kind: String, name: String) async throws -> StoredResource?

    /// Every resource, or those of `kind`, ordered by kind then name.
    func resources(kind: String?) async throws -> [StoredResource]

    /// Creates or replaces the instance with `instance.id`; its `revision` is set by the store.
    func putInstance(_ instance: StoredInstance) async throws -> StoredInstance

    /// Removes the instance; returns the revision of the removal, or nil when there was none.
    func deleteInstance(id: String) async throws -> Int64?

    /// Every instance, or those of `service`, ordered by service then id.
    func instances(service: String?) async throws -> [StoredInstance]

    /// The changes after `revision`, oldest first, at most `limit`. Throws `compacted` when
    /// changes that old are no longer kept (the reader must start from a full read).
    func changes(after revision: Int64, limit: Int) async throws -> [StoreChange]

    /// Whether other control planes write to this store too (etcd): then each follows the
    /// others' writes (`changes(after:)`), and an instance belongs to the control plane whose
    /// store session wrote it last (`StoredInstance.heldHere`).
    var isShared: Bool { get }

    /// The largest document the store takes in one write (etcd's request limit), or nil
    /// without one; `heddle apply` refuses a larger document before reading it.
    var documentLimit: Int? { get }

    /// The control plane's identity (`IdentityRecord`, JSON) when the store keeps it for every
    /// replica, and its revision; nil when it keeps none. Stores of one node (SQLite) keep none:
    /// the identity is in the data directory.
    func identity() async throws -> (document: String, revision: Int64)?

    /// Writes the identity if the store's is still at `expectedRevision` (0: it has none);
    /// throws `conflict` otherwise. Returns its new revision. Not a change that watches see.
    func putIdentity(_ document: String, expectedRevision: Int64) async throws -> Int64
}

extension Store {
    public var isShared: Bool { false }
    public var documentLimit: Int? { nil }
    public func identity() async throws -> (document: String, revision: Int64)? { nil }
    public func putIdentity(_ document: String, expectedRevision: Int64) async throws -> Int64 {
        throw StoreError.unavailable("this store keeps no identity: the control plane's CA is in its data directory")
    }
}

/// A resource as stored: its YAML document and revisions.
public struct StoredResource: Hashable, Sendable {
    public var kind: String
    public var name: String
    public var document: String
    public var createRevision: Int64
    public var revision: Int64

    public init(kind: String, name: String, document: String, createRevision: Int64, revision: Int64) {
        self.kind = kind
        self.name = name
        self.document = document
        self.createRevision = createRevision
        self.revision = revision
    }
}

/// A registered instance as stored. Its lease lives in the control plane's memory, not here:
/// heartbeats are not writes.
public struct StoredInstance: Hashable, Sendable {
    public var id: String
    public var service: String
    public var address: String
    public var port: Int
    public var `protocol`: String
    public var labels: [String: String]
    public var weight: Int
    /// `healthy` or `unhealthy`.
    public var health: String
    public var revision: Int64
    /// Reached over mutual TLS, with the service's workload identity.
    public var mutualTLS: Bool
    /// Where its proxy's admin endpoint (`/metrics`) answers, `host:port`; nil when not told.
    public var adminAddress: String?
    /// Written by this store's session (always, unless the store is shared: with etcd, the
    /// instance's key is held by the session lease of the control plane that wrote it last,
    /// and goes when that control plane is gone for good).
    public var heldHere: Bool = true

    public init(
        id: String, service: String, address: String, port: Int, protocol: String, labels: [String: String] = [:], weight: Int = 1,
        health: String = "healthy", revision: Int64 = 0, mutualTLS: Bool = false, adminAddress: String? = nil
    ) {
        self.mutualTLS = mutualTLS
        self.adminAddress = adminAddress
        self.id = id
        self.service = service
        self.address = address
        self.port = port
        self.protocol = `protocol`
        self.labels = labels
        self.weight = weight
        self.health = health
        self.revision = revision
    }
}

/// One write, as a watch sees it.
public enum StoreChange: Hashable, Sendable {
    case resourcePut(StoredResource)
    case resourceDeleted(kind: String, name: String, revision: Int64)
    case instancePut(StoredInstance)
    case instanceDeleted(id: String, revision: Int64)

    /// The revision of the write.
    public var revision: Int64 {
        switch self {
        case .resourcePut(let resource): resource.revision
        case .resourceDeleted(_, _, let revision): revision
        case .instancePut(let instance): instance.revision
        case .instanceDeleted(_, let revision): revision
        }
    }
}

/// Why a store operation failed, in words an operator can act on.
public enum StoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A conditional write found another revision: `current` (0 when the resource does not
    /// exist).
    case conflict(resource: String, expected: Int64, current: Int64)
    case notFound(resource: String)
    /// The changes asked for are older than the oldest kept.
    case compacted(requested: Int64, oldest: Int64)
    /// The store cannot be opened or used: a corrupt or locked database, a full disk, ...
    case unavailable(String)
    /// The document is larger than the store takes in one write (etcd's request limit).
    case tooLarge(resource: String, bytes: Int, limit: Int)

    /// Why a document of `bytes` is refused by a store that takes `limit`.
    static func tooLargeReason(bytes: Int, limit: Int) -> String {
        "\(bytes) bytes, over the \(limit) the store takes in one document (etcd's --max-request-bytes, less room for the key): split it into smaller resources"
    }

    public var description: String {
        switch self {
        case let .conflict(resource, expected, current):
            current == 0
                ? "\(resource) does not exist (expected revision \(expected))"
                : "\(resource) is at revision \(current), not \(expected): it changed since it was read"
        case let .notFound(resource):
            "\(resource) does not exist"
        case let .compacted(requested, oldest):
            "changes after revision \(requested) are no longer kept (oldest kept: \(oldest)); read everything again"
        case let .unavailable(reason):
            reason
        case let .tooLarge(resource, bytes, limit):
            "\(resource): \(Self.tooLargeReason(bytes: bytes, limit: limit))"

        }
    }
}
