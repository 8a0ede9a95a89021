import HeddleAPI
import HeddleCore
import Logging

/// The control plane's core: the declarative resources, the registry of service instances and
/// the watches of the proxies. It loads its state from a `Store` at start and is then the
/// store's single writer: writes are serialised, each reaches the store before the state in
/// memory changes, and each change wakes the watches (see `run()`).
///
/// Errors thrown are `ControlPlaneError`s.
public actor ControlPlane {
    let store: any Store
    let settings: ControlPlaneSettings
    let logger: Logger
    let now: @Sendable () -> Instant
    let hub = WatchHub()

    /// The store revision of the latest write.
    public internal(set) var revision: Int64
    var resources: [ResourceKey: ResourceEntry]
    var statuses: [ResourceKey: ResourceStatus] = [:]
    var instances: InstanceTable
    var proxyRecords: [String: ProxyRecord] = [:]
    /// Snapshots made since the last change, by scope: a thousand proxies reconnecting after a
    /// restart share one rendering instead of making a thousand.
    var snapshotCache: [WatchScope: ConfigPush] = [:]
    /// What snapshots are cut from, for the current revision; the rendered documents of
    /// services (by name, with what they were rendered from) and of routes and policies (by
    /// key, with their source), kept across revisions.
    var meshIndexCache: MeshIndex?
    /// The accepted resources in key order, until the resources change (an instance's change
    /// leaves it).
    var acceptedInOrder: [(key: ResourceKey, entry: ResourceEntry)]?
    var renderedServices: [String: (fingerprint: SnapshotBuilder.Fingerprint, resource: PushedResource)] = [:]
    /// The services' documents already checked against their fingerprint at this revision.
    var renderedThisRevision: [String: PushedResource] = [:]
    var renderedDocuments: [String: (source: String, resource: PushedResource)] = [:]
    /// With a shared store: every change up to this revision has been applied here (writes of
    /// other control planes included), so following resumes after it.
    var followedRevision: Int64
    /// With a shared store: the revision of this control plane's latest write of each key
    /// (`Kind/name`, or `instance/ID`) that following has not passed yet, so that an older
    /// change read back never undoes it.
    var localWrites: [String: Int64] = [:]
    /// With a shared store: when following it last worked (or began); nil until `run()`
    /// follows it, so that a control plane not running yet is never called stale.
    var storeAnswered: ContinuousClock.Instant?
    /// With a shared store: why following it last failed, since it last worked (nil while it
    /// works, or while a round is still waiting for an answer).
    var storeTrouble: String?
    /// With a shared store: true while the watches are closed because it has not answered.
    var servingStale = false

    private var writing = false
    private var waitingWriters: [CheckedContinuation<Void, Never>] = []
    private var running = false
    let changes: AsyncStream<Void>
    private let changeSignal: AsyncStream<Void>.Continuation

    /// Loads the resources and instances from `store`. Instances get a fresh lease of
    /// `settings.restoredLeaseSeconds` (a grace period to heartbeat again); one stored unhealthy
    /// stays so until its next heartbeat. `now` reads the clock leases run on.
    public init(
        store: any Store, settings: ControlPlaneSettings = ControlPlaneSettings(), logger: Logger = Logger(label: "heddle.control-plane"),
        now: @escaping @Sendable () -> Instant = ControlPlane.monotonicNow
    ) async throws {
        let (revision, storedResources, storedInstances) = try await Self.load(store)
        let start = now()
        let lease = Duration.seconds(settings.restoredLeaseSeconds)
        self.store = store
        self.settings = settings
        self.logger = logger
        self.now = now
        self.revision = revision
        self.followedRevision = revision
        self.resources = Dictionary(
            storedResources.compactMap { stored in
                ResourceKey.storedKinds.first { $0.rawValue == stored.kind }.map { (ResourceKey(kind: $0, name: stored.name), ResourceEntry(restoring: stored)) }
            },
            uniquingKeysWith: { first, _ in first })
        // Why a stored instance is unhealthy is not stored: it comes back as if its lease had
        // run out, and a heartbeat brings it back (its proxy reports it again if it still fails).
        self.instances = InstanceTable(Dictionary(
            storedInstances.map { stored in
                let unhealthy = stored.health != Instance.Health.healthy.rawValue
                return (stored.id, RegisteredInstance(stored: stored, lease: InstanceLease(duration: lease, renewedAt: start, expired: unhealthy), reportedHealthy: true))
            },
            uniquingKeysWith: { first, _ in first }))
        (changes, changeSignal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        statuses = ResourceStatusEvaluator.evaluate(resources)
        logger.info("control plane loaded", metadata: ["revision": "\(revision)", "resources": "\(resources.count)", "instances": "\(instances.count)"])
    }

    private static func load(_ store: any Store) async throws -> (Int64, [StoredResource], [StoredInstance]) {
        do {
            let revision = try await store.currentRevision()
            return (revision, try await store.resources(kind: nil), try await store.instances(service: nil))
        } catch {
            throw ControlPlaneError(storeFailure: error)
        }
    }

    /// A monotonic clock's reading, for leases.
    @Sendable public static func monotonicNow() -> Instant {
        Instant(nanoseconds: UInt64(clamping: clockOrigin.duration(to: .now).nanosecondsClamped))
    }

    private static let clockOrigin = ContinuousClock.now

    // MARK: - Serialised writes

    /// Runs `body` with no other write in progress, in the order writes arrived.
    func exclusively<T>(_ body: () async throws -> T) async rethrows -> T {
        if writing {
            await withCheckedContinuation { waitingWriters.append($0) }
        } else {
            writing = true
        }
        defer {
            if waitingWriters.isEmpty {
                writing = false
            } else {
                waitingWriters.removeFirst().resume()
            }
        }
        return try await body()
    }

    /// Runs a store operation; its failure becomes a `ControlPlaneError`.
    func storing<T>(_ operation: () async throws -> T) async throws -> T {
        do {
            return try await operation()
        } catch {
            throw ControlPlaneError(storeFailure: error)
        }
    }

    /// Remembers a write of this control plane to a shared store (see `localWrites`).
    func noteLocalWrite(_ key: String, _ written: Int64) {
        guard store.isShared else { return }
        localWrites[key] = max(localWrites[key] ?? 0, written)
    }

    /// Records that what proxies receive may have changed: the watches are updated after
    /// `settings.pushDelay`.
    func noteChange() {
        snapshotCache.removeAll()
        meshIndexCache = nil
        changeSignal.yield()
    }

    /// Marks the start of `run()`; false when it already runs.
    func claimRun() -> Bool {
        defer { running = true }
        return !running
    }
}
