/// `heddle store migrate`: copies every resource and registered instance from one store into
/// another, empty one (SQLite to etcd when a mesh grows to several control planes, or back),
/// and the control plane's identity with them: the certificate authority and join-token key,
/// from the data directory into the shared store or back. The copies get the destination's
/// revisions; proxies notice the new versions and take a full push when they reconnect, and
/// keep their certificates and join tokens.
public enum StoreMigration {
    public struct Summary: Hashable, Sendable {
        public var resources: Int
        public var instances: Int
        /// The destination's revision after the copy.
        public var revision: Int64
        /// Whether an identity was copied (the source had one).
        public var identity: Bool
    }

    /// Where a control plane keeps its identity: in the store itself (etcd, shared by
    /// replicas) or in the data directory's `identity` folder (SQLite, one node).
    public enum IdentityPlace: Sendable {
        case store(any Store)
        case directory(String)

        func record() async throws -> IdentityRecord? {
            switch self {
            case let .store(store): try await StoreIdentity.read(from: store)?.record
            case let .directory(directory): try IdentityFiles.record(in: directory)
            }
        }

        var name: String {
            switch self {
            case .store: "the destination store"
            case let .directory(directory): directory
            }
        }
    }

    /// Copies `source` into `destination`, which must hold nothing, and the identity from
    /// `identity.from` to `identity.to` (refused before anything is written when the
    /// destination keeps another one); stops at the first write that fails (what was copied
    /// stays, and a second run says the destination is not empty).
    public static func copy(
        from source: any Store, to destination: any Store, identity: (from: IdentityPlace, to: IdentityPlace)? = nil
    ) async throws -> Summary {
        let existing = try await destination.resources(kind: nil).count
        let registered = try await destination.instances(service: nil).count
        guard existing == 0, registered == 0 else {
            throw StoreError.unavailable(
                "the destination already holds \(existing) resources and \(registered) instances: migrate into an empty store (with etcd, a new prefix: etcd://HOST:PORT/new-prefix)")
        }
        let record = try await identity?.from.record()
        var copyIdentity = false
        if let record, let place = identity?.to {
            let kept = try await place.record()
            guard kept == nil || kept == record else {
                throw StoreError.unavailable(
                    "\(place.name) already keeps another certificate authority or join-token key (trust domain '\(kept?.trustDomain ?? "")'): migrate into a new one")
            }
            copyIdentity = kept == nil
        }
        let resources = try await source.resources(kind: nil)
        let instances = try await source.instances(service: nil)
        for resource in resources {
            _ = try await destination.putResource(kind: resource.kind, name: resource.name, document: resource.document, expectedRevision: 0)
        }
        for instance in instances {
            _ = try await destination.putInstance(instance)
        }
        if copyIdentity, let record, let place = identity?.to {
            switch place {
            case let .store(store): _ = try await StoreIdentity.write(record, to: store, expectedRevision: 0)
            case let .directory(directory): try IdentityFiles.save(record, to: directory)
            }
        }
        return Summary(resources: resources.count, instances: instances.count, revision: try await destination.currentRevision(), identity: record != nil)
    }
}
