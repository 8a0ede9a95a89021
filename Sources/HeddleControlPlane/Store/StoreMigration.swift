/// `heddle store migrate`: copies every resource and registered instance from one store into
/// another, empty one (SQLite to etcd when a mesh grows to several control planes, or back).
/// The copies get the destination's revisions; proxies notice the new versions and take a
/// full push when they reconnect.
public enum StoreMigration {
    public struct Summary: Hashable, Sendable {
        public var resources: Int
        public var instances: Int
        /// The destination's revision after the copy.
        public var revision: Int64
    }

    /// Copies `source` into `destination`, which must hold nothing; stops at the first write
    /// that fails (what was copied stays, and a second run says the destination is not empty).
    public static func copy(from source: any Store, to destination: any Store) async throws -> Summary {
        let existing = try await destination.resources(kind: nil).count
        let registered = try await destination.instances(service: nil).count
        guard existing == 0, registered == 0 else {
            throw StoreError.unavailable(
                "the destination already holds \(existing) resources and \(registered) instances: migrate into an empty store (with etcd, a new prefix: etcd://HOST:PORT/new-prefix)")
        }
        let resources = try await source.resources(kind: nil)
        let instances = try await source.instances(service: nil)
        for resource in resources {
            _ = try await destination.putResource(kind: resource.kind, name: resource.name, document: resource.document, expectedRevision: 0)
        }
        for instance in instances {
            _ = try await destination.putInstance(instance)
        }
        return Summary(resources: resources.count, instances: instances.count, revision: try await destination.currentRevision())
    }
}
