import Foundation
import HeddleIdentity
import Logging

/// Where replicas keep the identity they share (`IdentityRecord`): in the shared store (etcd),
/// one JSON document written by compare-and-swap. The first replica to start makes it — or
/// takes it from its data directory, so a mesh that grew from one node keeps its CA and the
/// join tokens it gave out — and every other replica reads it: no files to copy between them.
public enum StoreIdentity {
    /// The workload authority kept in `store`, made there when it holds none. `directory`:
    /// the replica's data directory, whose identity (when the store holds none yet) seeds the
    /// store. Refused, with the reason, when the store's identity belongs to another trust
    /// domain or cannot be read.
    public static func load(
        store: any Store, directory: String, trustDomain: String, operatorCA: IdentityFiles.OperatorCA? = nil,
        certificateLifetime: Duration = .seconds(86_400), now: Date = Date(), logger: Logger? = nil
    ) async throws -> WorkloadAuthority {
        var kept = try await read(from: store)
        if kept == nil {
            let local = try IdentityFiles.record(in: directory, fallbackTrustDomain: trustDomain)
            var record = local ?? IdentityRecord(trustDomain: trustDomain)
            try IdentityFiles.checkTrustDomain(of: record, trustDomain, in: directory)
            if operatorCA == nil, record.authority == nil { try record.addRoot(now: now) }
            kept = try await create(record, in: store)
            if local != nil, kept?.record == record {
                logger?.notice("the data directory's certificate authority and join-token key now live in the shared store", metadata: ["from": "\(directory)"])
            }
        }
        guard var (record, revision) = kept else { throw IdentityError(.invalidCertificate, "the store's identity vanished while it was read") }
        try record.check(trustDomain: trustDomain, owner: "the store's", hint: ": give every replica the same --trust-domain")
        // The replicas so far signed with an operator's CA (or the one that made the record
        // did): this one signs with its own, made once — a replica that starts at the same
        // moment and makes one first wins.
        while operatorCA == nil, record.authority == nil {
            var added = record
            try added.addRoot(now: now)
            do {
                revision = try await write(added, to: store, expectedRevision: revision)
                record = added
            } catch StoreError.conflict {
                guard let current = try await read(from: store) else { throw IdentityError(.invalidCertificate, "the store's identity vanished while it was read") }
                (record, revision) = current
            }
        }
        var state = try record.rootState(operatorCA: try operatorCA?.load(trustDomain: trustDomain), source: "the store's identity")
        state.revision = revision
        return WorkloadAuthority(
            state: state, tokens: try record.joinTokens(source: "the store's identity"), certificateLifetime: certificateLifetime,
            keeper: operatorCA == nil ? .store(store, record: record) : nil)
    }

    /// The record the store keeps and its revision; nil when it keeps none, or (`newerThan`)
    /// when its revision is not above that one (nothing is decoded then).
    public static func read(from store: any Store, newerThan known: Int64 = 0) async throws -> (record: IdentityRecord, revision: Int64)? {
        guard let (document, revision) = try await store.identity(), revision > known else { return nil }
        do {
            return (try JSONDecoder().decode(IdentityRecord.self, from: Data(document.utf8)), revision)
        } catch {
            throw IdentityError(.invalidCertificate, "the store's identity cannot be read: \(error)")
        }
    }

    /// Writes `record` if the store's is still at `expectedRevision` (0: it has none);
    /// `StoreError.conflict` otherwise. Returns the new revision.
    public static func write(_ record: IdentityRecord, to store: any Store, expectedRevision: Int64) async throws -> Int64 {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let document = String(decoding: try encoder.encode(record), as: UTF8.self)
        return try await store.putIdentity(document, expectedRevision: expectedRevision)
    }

    /// Makes `record` the store's, unless another replica made one first: then that one.
    private static func create(_ record: IdentityRecord, in store: any Store) async throws -> (record: IdentityRecord, revision: Int64)? {
        do {
            return (record, try await write(record, to: store, expectedRevision: 0))
        } catch StoreError.conflict {
            return try await read(from: store)
        }
    }
}
