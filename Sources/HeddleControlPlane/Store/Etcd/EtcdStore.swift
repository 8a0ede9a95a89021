import Foundation
import NIOConcurrencyHelpers

/// The control plane's store on an etcd v3 cluster (`heddle control-plane --store
/// etcd://host:2379,host:2379`), so that several control-plane replicas share one state.
///
/// **Layout.** Everything lives under a key prefix (`/heddle/` by default):
/// `resources/KIND/NAME` holds a resource's YAML document, `instances/ID` a registered
/// instance as JSON, `revision` marks the store's latest write, and `identity` holds the
/// certificate authority and join-token key the replicas share (`StoreIdentity`; whoever can
/// read the prefix can read the CA's key, as with a Kubernetes secret).
///
/// **Revisions** are etcd's: every write is one etcd transaction that writes its key and the
/// `revision` marker, so the store's revision is the marker's `mod_revision` (0 before the
/// first write), a resource's revisions are its key's `create_revision`/`mod_revision`, and a
/// write that fails or finds nothing to do commits nothing. On a cluster shared with other
/// programs the revisions increase, but not by one.
///
/// **Compare-and-swap** is an etcd transaction comparing the key's `mod_revision` (or that it
/// does not exist): replicas writing at once cannot overwrite each other's changes.
///
/// **Changes** are read from etcd's history with a watch from `after + 1`. The store keeps
/// the last `retainedChanges` revisions of history by compacting etcd behind it (etcd's
/// compaction is cluster-wide; on a cluster shared with programs that need longer history, set
/// `retainedChanges` to what they need). Older changes throw `compacted`.
///
/// **Size.** etcd refuses a request over its `--max-request-bytes` (1.5 MiB by default): a
/// larger resource is refused before it is sent, saying so.
///
/// **Instances** are held by this store's session: an etcd lease (`sessionSeconds`) kept
/// alive while the store is open, attached to every instance key it writes. Another control
/// plane takes an instance over by writing it with its own session; when a control plane is
/// gone for good its session expires and etcd removes the instances it still held, whose
/// sidecars then register with another.
public final class EtcdStore: Store {
    public let endpoints: [String]
    public let prefix: String
    public let retainedChanges: Int
    /// The largest document written (etcd's request limit minus room for the key and framing).
    public let maxDocumentBytes: Int

    /// The session lease's time to live.
    public let sessionSeconds: Int

    let client: EtcdClient
    private let compacted = NIOLockedValueBox<Int64>(0)
    /// The session lease (0 until the first instance write) and the task keeping it alive.
    private let session = NIOLockedValueBox<(id: Int64, keeper: Task<Void, Never>?)>((0, nil))
    /// The grant in progress, which concurrent first writes share.
    private let granting = NIOLockedValueBox<Task<Int64, any Error>?>(nil)

    public var isShared: Bool { true }
    public var documentLimit: Int? { maxDocumentBytes }

    /// - Parameters:
    ///   - endpoints: the members' client URLs (`http://10.0.0.1:2379`).
    ///   - prefix: the key prefix (ends with `/`).
    ///   - maxRequestBytes: the cluster's `--max-request-bytes`.
    public init(
        endpoints: [String], prefix: String = "/heddle/", retainedChanges: Int = SQLiteStore.defaultRetainedChanges,
        maxRequestBytes: Int = 1_572_864, timeout: Duration = .seconds(5), sessionSeconds: Int = 15
    ) {
        precondition(retainedChanges >= 1, "the change log must keep at least the latest change")
        self.sessionSeconds = sessionSeconds
        self.endpoints = endpoints
        self.prefix = prefix.hasSuffix("/") ? prefix : prefix + "/"
        self.retainedChanges = retainedChanges
        self.maxDocumentBytes = maxRequestBytes - 4096
        client = EtcdClient(endpoints: endpoints, timeout: timeout)
    }

    // MARK: - Keys

    private var marker: Etcd.Bytes { Etcd.Bytes(prefix + "revision") }
    private var identityKey: Etcd.Bytes { Etcd.Bytes(prefix + "identity") }
    private var resourcesPrefix: String { prefix + "resources/" }
    private var instancesPrefix: String { prefix + "instances/" }

    private func resourceKey(_ kind: String, _ name: String) -> Etcd.Bytes { Etcd.Bytes(resourcesPrefix + kind + "/" + name) }
    private func instanceKey(_ id: String) -> Etcd.Bytes { Etcd.Bytes(instancesPrefix + id) }

    private var markerPut: Etcd.RequestOp {
        Etcd.RequestOp(request_put: Etcd.PutRequest(key: marker, value: Etcd.Bytes("")))
    }

    // MARK: - Store

    /// The revision of the store's latest write; before the first, etcd's revision then (so
    /// that `changes(after: currentRevision())` is always a valid place to start).
    public func currentRevision() async throws -> Int64 {
        let (latest, etcd) = try await latestWrite()
        return latest ?? etcd
    }

    /// The `mod_revision` of the `revision` marker (nil before the first write) and etcd's
    /// revision.
    private func latestWrite() async throws(StoreError) -> (Int64?, Int64) {
        let response = try await client.call("kv/range", Etcd.RangeRequest(key: marker), as: Etcd.RangeResponse.self, idempotent: true)
        return (response.kvs?.first?.mod_revision?.value, response.header?.revision?.value ?? 0)
    }

    public func putResource(kind: String, name: String, document: String, expectedRevision: Int64?) async throws -> StoredResource {
        let resource = "\(kind)/\(name)"
        let size = document.utf8.count
        guard size <= maxDocumentBytes else {
            throw StoreError.tooLarge(resource: resource, bytes: size, limit: maxDocumentBytes)
        }
        let key = resourceKey(kind, name)
        let put = Etcd.RequestOp(request_put: Etcd.PutRequest(key: key, value: Etcd.Bytes(document), prev_kv: true))
        let compare: [Etcd.Compare] = switch expectedRevision {
        case nil: []
        case 0?: [.absent(key)]
        case let revision?: [.modRevision(of: key, is: revision)]
        }
        let response = try await client.call(
            "kv/txn", Etcd.TxnRequest(compare: compare, success: [put, markerPut], failure: [Self.range(key)]), as: Etcd.TxnResponse.self,
            idempotent: false)
        guard response.succeeded == true else {
            let current = response.responses?.first?.response_range?.kvs?.first?.mod_revision?.value ?? 0
            throw StoreError.conflict(resource: resource, expected: expectedRevision ?? 0, current: current)
        }
        let revision = try Self.revision(response.header)
        let previous = response.responses?.first?.response_put?.prev_kv
        await compact(at: revision)
        return StoredResource(kind: kind, name: name, document: document, createRevision: previous?.create_revision?.value ?? revision, revision: revision)
    }

    public func deleteResource(kind: String, name: String, expectedRevision: Int64?) async throws -> Int64 {
        let resource = "\(kind)/\(name)"
        let key = resourceKey(kind, name)
        var compare: [Etcd.Compare] = [.present(key)]
        if let expectedRevision { compare.append(.modRevision(of: key, is: expectedRevision)) }
        let response = try await client.call(
            "kv/txn",
            Etcd.TxnRequest(compare: compare, success: [Etcd.RequestOp(request_delete_range: Etcd.DeleteRangeRequest(key: key)), markerPut], failure: [Self.range(key)]),
            as: Etcd.TxnResponse.self, idempotent: false)
        guard response.succeeded == true else {
            guard let current = response.responses?.first?.response_range?.kvs?.first?.mod_revision?.value else {
                throw StoreError.notFound(resource: resource)
            }
            throw StoreError.conflict(resource: resource, expected: expectedRevision ?? 0, current: current)
        }
        let revision = try Self.revision(response.header)
        await compact(at: revision)
        return revision
    }

    public func resource(kind: String, name: String) async throws -> StoredResource? {
        let response = try await client.call("kv/range", Etcd.RangeRequest(key: resourceKey(kind, name)), as: Etcd.RangeResponse.self, idempotent: true)
        return response.kvs?.first.flatMap(storedResource)
    }

    public func resources(kind: String?) async throws -> [StoredResource] {
        let start = Etcd.Bytes(kind.map { resourcesPrefix + $0 + "/" } ?? resourcesPrefix)
        let response = try await client.call("kv/range", Etcd.RangeRequest(key: start, range_end: start.prefixEnd), as: Etcd.RangeResponse.self, idempotent: true)
        // etcd orders keys by their bytes: kind, then `/`, then name, as the contract asks.
        return (response.kvs ?? []).compactMap(storedResource)
    }

    public func putInstance(_ instance: StoredInstance) async throws -> StoredInstance {
        let value: Data
        do {
            value = try JSONEncoder().encode(InstanceRecord(instance))
        } catch {
            throw StoreError.unavailable("cannot encode instance \(instance.id): \(error)")
        }
        let lease = try await sessionLease()
        let put = Etcd.RequestOp(request_put: Etcd.PutRequest(key: instanceKey(instance.id), value: Etcd.Bytes(bytes: Array(value)), lease: Etcd.Int64Text(lease)))
        let response: Etcd.TxnResponse
        do {
            response = try await client.call("kv/txn", Etcd.TxnRequest(compare: [], success: [put, markerPut], failure: []), as: Etcd.TxnResponse.self, idempotent: false)
        } catch {
            // The session expired (etcd was out of reach longer than its time to live): the
            // next write gets a new one.
            guard error.description.contains("requested lease not found") else { throw error }
            forgetSession(lease)
            throw StoreError.unavailable("this control plane's etcd session expired; the instance is written with a new one at its next heartbeat")
        }
        var stored = instance
        stored.revision = try Self.revision(response.header)
        stored.heldHere = true
        await compact(at: stored.revision)
        return stored
    }

    public func deleteInstance(id: String) async throws -> Int64? {
        let key = instanceKey(id)
        let response = try await client.call(
            "kv/txn",
            Etcd.TxnRequest(
                compare: [.present(key)],
                success: [Etcd.RequestOp(request_delete_range: Etcd.DeleteRangeRequest(key: key)), markerPut], failure: []),
            as: Etcd.TxnResponse.self, idempotent: false)
        guard response.succeeded == true else { return nil }
        let revision = try Self.revision(response.header)
        await compact(at: revision)
        return revision
    }

    public func instances(service: String?) async throws -> [StoredInstance] {
        let start = Etcd.Bytes(instancesPrefix)
        let response = try await client.call("kv/range", Etcd.RangeRequest(key: start, range_end: start.prefixEnd), as: Etcd.RangeResponse.self, idempotent: true)
        return (response.kvs ?? []).compactMap(storedInstance)
            .filter { service == nil || $0.service == service }
            .sorted { lhs, rhs in
                lhs.service.utf8.elementsEqual(rhs.service.utf8) ? lhs.id.utf8.lexicographicallyPrecedes(rhs.id.utf8) : lhs.service.utf8.lexicographicallyPrecedes(rhs.service.utf8)
            }
    }

    public func changes(after revision: Int64, limit: Int) async throws -> [StoreChange] {
        // Every write of the store moves the marker, so there is a change to read (and the
        // watch below ends) only when the marker moved after `revision`.
        guard let current = try await latestWrite().0, revision < current else { return [] }
        let start = Etcd.Bytes(prefix)
        var changes: [StoreChange] = []
        let marker = marker
        try await client.watch(key: start, end: start.prefixEnd, start: revision + 1) { response throws(StoreError) in
            if response.canceled == true {
                if let compacted = response.compact_revision?.value, compacted > 0 {
                    throw StoreError.compacted(requested: revision, oldest: compacted)
                }
                throw StoreError.unavailable("etcd cancelled the watch: \(response.cancel_reason ?? "no reason given")")
            }
            guard let events = response.events else { return true }
            for event in events {
                guard let eventRevision = event.kv.mod_revision?.value else { continue }
                if eventRevision > current { return false }
                guard event.kv.key != marker, let change = self.change(event) else {
                    if eventRevision >= current { return false }
                    continue
                }
                guard changes.count < limit else { return false }
                changes.append(change)
            }
            let last = events.last?.kv.mod_revision?.value ?? 0
            return changes.count < limit && last < current
        }
        return changes
    }

    // MARK: - Identity

    /// The replicas' shared identity, at `identity` (its `mod_revision` is its revision).
    public func identity() async throws -> (document: String, revision: Int64)? {
        let response = try await client.call("kv/range", Etcd.RangeRequest(key: identityKey), as: Etcd.RangeResponse.self, idempotent: true)
        guard let kv = response.kvs?.first else { return nil }
        return (kv.value?.text ?? "", kv.mod_revision?.value ?? 0)
    }

    /// Writes the identity by compare-and-swap on its `mod_revision`; it does not move the
    /// `revision` marker, so watches do not see it as a change of the mesh.
    public func putIdentity(_ document: String, expectedRevision: Int64) async throws -> Int64 {
        let key = identityKey
        let compare: [Etcd.Compare] = expectedRevision == 0 ? [.absent(key)] : [.modRevision(of: key, is: expectedRevision)]
        let put = Etcd.RequestOp(request_put: Etcd.PutRequest(key: key, value: Etcd.Bytes(document)))
        let response = try await client.call(
            "kv/txn", Etcd.TxnRequest(compare: compare, success: [put], failure: [Self.range(key)]), as: Etcd.TxnResponse.self, idempotent: false)
        guard response.succeeded == true else {
            let current = response.responses?.first?.response_range?.kvs?.first?.mod_revision?.value ?? 0
            throw StoreError.conflict(resource: "identity", expected: expectedRevision, current: current)
        }
        return try Self.revision(response.header)
    }

    // MARK: - Session

    /// The session lease, granted at the first instance write (once, however many writes ask
    /// at the same time) and kept alive every third of its time to live; a keep-alive that
    /// finds it expired drops it (the next write gets a new one).
    private func sessionLease() async throws(StoreError) -> Int64 {
        let current = session.withLockedValue { $0.id }
        if current != 0 { return current }
        let grant = granting.withLockedValue { pending -> Task<Int64, any Error> in
            if let pending { return pending }
            let task = Task { try await self.grantSession() }
            pending = task
            return task
        }
        do {
            return try await grant.value
        } catch {
            throw (error as? StoreError) ?? .unavailable("cannot get an etcd session: \(error)")
        }
    }

    private func grantSession() async throws -> Int64 {
        defer { granting.withLockedValue { $0 = nil } }
        let granted = try await client.call(
            "lease/grant", Etcd.LeaseGrantRequest(TTL: Etcd.Int64Text(Int64(sessionSeconds))), as: Etcd.LeaseGrantResponse.self, idempotent: false)
        guard let id = granted.ID?.value, id != 0 else {
            throw StoreError.unavailable("etcd granted no lease: \(granted.error ?? "no reason given")")
        }
        let client = client
        let interval = Duration.seconds(max(1, sessionSeconds / 3))
        let keeper = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard !Task.isCancelled else { return }
                let answer = try? await client.call("lease/keepalive", Etcd.LeaseKeepAliveRequest(ID: Etcd.Int64Text(id)), as: Etcd.LeaseKeepAliveMessage.self, idempotent: true)
                if let answer, (answer.result?.TTL?.value ?? 0) <= 0 {
                    self?.forgetSession(id)
                    return
                }
            }
        }
        session.withLockedValue { $0 = (id, keeper) }
        return id
    }

    private func forgetSession(_ id: Int64) {
        let keeper = session.withLockedValue { session -> Task<Void, Never>? in
            guard session.id == id else { return nil }
            defer { session = (0, nil) }
            return session.keeper
        }
        keeper?.cancel()
    }

    /// Stops keeping the session alive: the instances it holds go when it expires, unless
    /// another control plane takes them over first (their sidecars heartbeat it).
    public func close() {
        let keeper = session.withLockedValue { $0.keeper }
        keeper?.cancel()
    }

    // MARK: - Compaction

    /// Compacts etcd's history to keep the last `retainedChanges` revisions, each time the
    /// boundary has moved by a hundredth of it (one request per hundred writes by default). A
    /// failure (another replica compacted further, a member away) is left for the next time.
    private func compact(at revision: Int64) async {
        let boundary = revision - Int64(retainedChanges) + 1
        guard boundary > 0 else { return }
        let step = Int64(max(1, retainedChanges / 100))
        let due = compacted.withLockedValue { last -> Bool in
            guard boundary - last >= step else { return false }
            last = boundary
            return true
        }
        guard due else { return }
        _ = try? await client.call("kv/compaction", Etcd.CompactionRequest(revision: Etcd.Int64Text(boundary)), as: Etcd.Empty.self, idempotent: true)
    }

    // MARK: - Decoding

    private static func range(_ key: Etcd.Bytes) -> Etcd.RequestOp {
        Etcd.RequestOp(request_range: Etcd.RangeRequest(key: key))
    }

    private static func revision(_ header: Etcd.ResponseHeader?) throws(StoreError) -> Int64 {
        guard let revision = header?.revision?.value, revision > 0 else { throw .unavailable("etcd answered a write without its revision") }
        return revision
    }

    private func storedResource(_ kv: Etcd.KeyValue) -> StoredResource? {
        let key = kv.key.text
        guard key.hasPrefix(resourcesPrefix) else { return nil }
        let path = key.dropFirst(resourcesPrefix.count)
        guard let slash = path.firstIndex(of: "/") else { return nil }
        let revision = kv.mod_revision?.value ?? 0
        return StoredResource(
            kind: String(path[..<slash]), name: String(path[path.index(after: slash)...]), document: kv.value?.text ?? "",
            createRevision: kv.create_revision?.value ?? revision, revision: revision)
    }

    private func storedInstance(_ kv: Etcd.KeyValue) -> StoredInstance? {
        let key = kv.key.text
        guard key.hasPrefix(instancesPrefix), let value = kv.value,
              let record = try? JSONDecoder().decode(InstanceRecord.self, from: Data(value.data))
        else { return nil }
        var instance = record.instance(id: String(key.dropFirst(instancesPrefix.count)), revision: kv.mod_revision?.value ?? 0)
        let held: Int64 = session.withLockedValue { $0.id }
        instance.heldHere = held != 0 && kv.lease?.value == held
        return instance
    }

    private func change(_ event: Etcd.Event) -> StoreChange? {
        let key = event.kv.key.text
        let revision = event.kv.mod_revision?.value ?? 0
        let deleted = event.type == "DELETE"
        if key.hasPrefix(resourcesPrefix) {
            guard let resource = storedResource(event.kv) else { return nil }
            return deleted ? .resourceDeleted(kind: resource.kind, name: resource.name, revision: revision) : .resourcePut(resource)
        }
        if key.hasPrefix(instancesPrefix) {
            if deleted { return .instanceDeleted(id: String(key.dropFirst(instancesPrefix.count)), revision: revision) }
            return storedInstance(event.kv).map { .instancePut($0) }
        }
        return nil
    }
}

/// An instance as the etcd store keeps it (its id is the key, its revision the key's).
private struct InstanceRecord: Codable {
    var service: String
    var address: String
    var port: Int
    var `protocol`: String
    var labels: [String: String]
    var weight: Int
    var health: String
    var mutualTLS: Bool
    var adminAddress: String?

    init(_ instance: StoredInstance) {
        service = instance.service
        address = instance.address
        port = instance.port
        self.protocol = instance.protocol
        labels = instance.labels
        weight = instance.weight
        health = instance.health
        mutualTLS = instance.mutualTLS
        adminAddress = instance.adminAddress
    }

    func instance(id: String, revision: Int64) -> StoredInstance {
        StoredInstance(
            id: id, service: service, address: address, port: port, protocol: self.protocol, labels: labels, weight: weight, health: health,
            revision: revision, mutualTLS: mutualTLS, adminAddress: adminAddress)
    }
}
