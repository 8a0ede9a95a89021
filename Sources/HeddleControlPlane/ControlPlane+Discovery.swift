import HeddleAPI
import HeddleCore
import Logging

extension ControlPlane {
    /// What a proxy receives now: every accepted `Service`, its endpoints those of its document
    /// and its healthy registered instances, and every accepted `HTTPRoute` attached to sidecars;
    /// a refused resource is left out. With `calls` (the hosts its app calls), only those
    /// services, the routes that may serve them and the services those routes send to.
    /// `version` is the store revision.
    public func snapshot(calls: [String]? = nil, service: String? = nil) -> ConfigPush {
        snapshot(scope: WatchScope(calls: calls.map(Set.init), service: service))
    }

    /// Opens a watch for the proxy `proxyID` (`service`: the service it serves, when it is a
    /// sidecar): the current snapshot first, then every change of it (see `ConfigWatch`).
    /// `invalid` for an empty or over-long id or a malformed service name; `unavailable`
    /// once the control plane is shutting down. `resume`: what the proxy holds, when it had a
    /// watch before; the stream then starts with an empty delta if that is still current.
    public func watch(proxyID: String, service: String?, calls: [String]? = nil, resume: WatchResume? = nil) throws -> ConfigWatch {
        try Self.validateProxyID(proxyID)
        if let service, !ResourceMetadata.isValidName(service) {
            throw ControlPlaneError(.invalid, "'\(service)' is not a valid service name")
        }
        if let bad = calls?.first(where: { !ResourceMetadata.isValidName($0) }) {
            throw ControlPlaneError(.invalid, "calls: '\(bad)' is not a valid service name")
        }
        if let staleness {
            throw ControlPlaneError(.unavailable, staleness)
        }
        let scope = WatchScope(calls: calls.map(Set.init), service: service)
        let initial = snapshot(scope: scope)
        guard let mailbox = hub.open(proxyID: proxyID, service: service, scope: scope, initial: initial) else {
            throw ControlPlaneError(.unavailable, "the control plane is shutting down")
        }
        proxyRecords[proxyID, default: ProxyRecord()].service = service
        if let resume {
            let current = resume.digest == initial.digest
            logger.info(
                current ? "watch resumed; the proxy's configuration is current" : "watch resumed from an old configuration; sending the whole",
                metadata: ["proxy": "\(proxyID)", "service": "\(service ?? "")", "held_version": "\(resume.version)", "version": "\(initial.version)"])
        } else {
            logger.debug("watch opened", metadata: ["proxy": "\(proxyID)", "service": "\(service ?? "")"])
        }
        return ConfigWatch(mailbox, resume: resume)
    }

    /// Records a proxy's answer to a push: the version it runs, or the one it rejected and why.
    /// `notFound` for a proxy that has never watched (so unknown callers cannot fill the table).
    public func ack(proxyID: String, _ ack: PushAck) throws {
        try Self.validateProxyID(proxyID)
        guard proxyRecords[proxyID] != nil else {
            throw ControlPlaneError(.notFound, "proxy \(proxyID) has never watched (GET /v1/watch?proxy=\(proxyID) first)")
        }
        proxyRecords[proxyID]?.ack = ack
        if !ack.accepted {
            logger.warning(
                "proxy rejected a push", metadata: ["proxy": "\(proxyID)", "version": "\(ack.version)", "errors": "\(ack.errors.map(\.reason))"])
        }
    }

    /// On-demand discovery: the proxy `proxyID`'s app called `names`, which its watch does not
    /// carry. Those the mesh has a service or route for join the scope of the proxy's open
    /// watches, which are pushed what they now need at once (not after the coalescing delay:
    /// a request waits for it); the others are reported unknown. `remove`: names the proxy
    /// learned and its app no longer calls; they leave the scope, and what only they needed is
    /// pushed away. `notFound` for a proxy with no open watch; `invalid` for a name that is not
    /// a valid service name, or more than `settings.maxLearnedCalls` in one proxy's scope.
    public func learnCalls(proxyID: String, _ names: [String], remove: [String] = []) throws -> CallsResult {
        try Self.validateProxyID(proxyID)
        if let bad = names.first(where: { !ResourceMetadata.isValidName($0) }) {
            throw ControlPlaneError(.invalid, "add: '\(bad)' is not a valid service name")
        }
        if let bad = remove.first(where: { !ResourceMetadata.isValidName($0) }) {
            throw ControlPlaneError(.invalid, "remove: '\(bad)' is not a valid service name")
        }
        let watches = hub.connections.filter { $0.proxyID == proxyID }
        guard !watches.isEmpty else {
            throw ControlPlaneError(.notFound, "proxy \(proxyID) has no open watch (GET /v1/watch?proxy=\(proxyID)&calls=... first)")
        }
        // Known: the mesh has a service or route for it (looked up, not rendered).
        let index = meshIndex()
        var known: [String] = []
        var unknown: [String] = []
        for name in Set(names).sorted() {
            let cut = index.cut(WatchScope(calls: [name]))
            if cut.services.isEmpty && cut.routes.isEmpty {
                unknown.append(name)
            } else {
                known.append(name)
            }
        }
        let removed = Set(remove).subtracting(known)
        guard !known.isEmpty || !removed.isEmpty else { return CallsResult(known: known, unknown: unknown) }
        for watch in watches {
            // A watch of the whole mesh already carries everything, and keeps it.
            guard let calls = watch.scope.calls else { continue }
            let changed = calls.union(known).subtracting(removed)
            guard changed != calls else { continue }
            guard changed.count <= settings.maxLearnedCalls else {
                throw ControlPlaneError(.invalid, "proxy \(proxyID) would call more than \(settings.maxLearnedCalls) services; give it the whole mesh instead (no --calls)")
            }
            let scope = WatchScope(calls: changed, service: watch.service)
            hub.rescope(proxyID: proxyID, from: watch.scope, to: scope, push: snapshot(scope: scope))
        }
        if !known.isEmpty || !unknown.isEmpty {
            logger.info("proxy learned calls", metadata: ["proxy": "\(proxyID)", "known": "\(known)", "unknown": "\(unknown)"])
        }
        if !removed.isEmpty {
            logger.info("proxy forgot calls", metadata: ["proxy": "\(proxyID)", "removed": "\(removed.sorted())"])
        }
        return CallsResult(known: known, unknown: unknown)
    }

    /// Every proxy that has watched since the control plane started, by id: whether it watches
    /// now, the last version pushed to it and its last acknowledgement.
    public func proxies() -> ItemList<ProxyStatus> {
        var statuses: [String: ProxyStatus] = [:]
        for (id, record) in proxyRecords {
            statuses[id] = ProxyStatus(
                id: id, service: record.service, connected: false, ackedVersion: record.ack?.version, accepted: record.ack?.accepted,
                errors: record.ack?.errors ?? [])
        }
        for connection in hub.connections {
            statuses[connection.proxyID]?.connected = true
            let pushed = statuses[connection.proxyID]?.pushedVersion ?? connection.lastVersion
            statuses[connection.proxyID]?.pushedVersion = max(pushed, connection.lastVersion)
        }
        return ItemList(revision: revision, items: statuses.values.sorted { $0.id < $1.id })
    }

    /// Sends every watch what changed for it since its last push (nothing when its snapshot
    /// reads the same). `run()` calls it `settings.pushDelay` after a change.
    public func publish() {
        let scopes = hub.scopes
        guard !scopes.isEmpty else { return }
        // One snapshot per distinct scope, shared by its watches.
        hub.deliver(Dictionary(uniqueKeysWithValues: scopes.map { ($0, snapshot(scope: $0)) }))
    }

    /// Sends every watch a keep-alive (unless a push is waiting for it). `run()` calls it every
    /// `settings.keepAliveInterval`.
    public nonisolated func sendKeepAlives() {
        hub.keepAlive()
    }

    /// Ends every watch and refuses new ones: the first step of a graceful shutdown.
    public nonisolated func closeWatches() {
        hub.close()
    }

    /// True once `closeWatches()` was called.
    public nonisolated var isShuttingDown: Bool { hub.isClosed }

    func snapshot(scope: WatchScope) -> ConfigPush {
        // Keyed by revision too: every change is a new revision, and noteChange() clears it.
        if let cached = snapshotCache[scope], cached.version == revision { return cached }
        let made = makeSnapshot(scope: scope)
        snapshotCache[scope] = made
        return made
    }

    private func makeSnapshot(scope: WatchScope) -> ConfigPush {
        let index = meshIndex()
        let cut = index.cut(scope)
        var resources: [PushedResource] = []
        resources.reserveCapacity(cut.services.count + cut.routes.count + cut.policies.count)
        for name in cut.services {
            guard let input = index.services[name] else { continue }
            resources.append(renderedService(name, input))
        }
        for route in cut.routes {
            resources.append(renderedDocument(key: "HTTPRoute/\(index.routes[route].name)", index.routes[route].document))
        }
        for policy in cut.policies {
            resources.append(renderedDocument(key: "AuthorizationPolicy/\(index.policies[policy].name)", index.policies[policy].document))
        }
        return ConfigPush(version: revision, resources: resources)
    }

    /// The index snapshots are cut from, built once per revision.
    func meshIndex() -> MeshIndex {
        if let cached = meshIndexCache, cached.version == revision { return cached }
        var healthy: [String: [RegisteredInstance]] = [:]
        for instance in instances.values where instance.health == .healthy {
            healthy[instance.stored.service, default: []].append(instance)
        }
        let accepted = acceptedInOrder ?? resources.filter { statuses[$0.key]?.state == .accepted }.sorted { $0.key < $1.key }.map { (key: $0.key, entry: $0.value) }
        acceptedInOrder = accepted
        let index = MeshIndex(version: revision, resources: accepted, healthy: healthy, isPushedToSidecars: Self.isPushedToSidecars)
        meshIndexCache = index
        renderedThisRevision = [:]
        // Forget the renderings of what is gone.
        renderedServices = renderedServices.filter { index.services[$0.key] != nil }
        let keys = Set(index.routes.map { "HTTPRoute/\($0.name)" } + index.policies.map { "AuthorizationPolicy/\($0.name)" })
        renderedDocuments = renderedDocuments.filter { keys.contains($0.key) }
        return index
    }

    /// A service's document with its endpoints, rendered again only when its document or its
    /// instances changed (rendering goes through YAML and is the costly part of a snapshot).
    private func renderedService(_ name: String, _ input: SnapshotBuilder.ServiceInput) -> PushedResource {
        // Checked once per revision: a service in ten thousand scopes is fingerprinted once.
        if let current = renderedThisRevision[name] { return current }
        defer { renderedThisRevision[name] = renderedServices[name]?.resource }
        let fingerprint = SnapshotBuilder.Fingerprint(input)
        if let kept = renderedServices[name], kept.fingerprint == fingerprint { return kept.resource }
        let resource = SnapshotBuilder.service(name, input, trustDomain: settings.trustDomain)
        renderedServices[name] = (fingerprint, resource)
        return resource
    }

    private func renderedDocument(key: String, _ document: String) -> PushedResource {
        if let kept = renderedDocuments[key], kept.source == document { return kept.resource }
        let resource = SnapshotBuilder.document(key: key, document)
        renderedDocuments[key] = (document, resource)
        return resource
    }

    private static func validateProxyID(_ id: String) throws(ControlPlaneError) {
        guard !id.isEmpty, id.utf8.count <= 253, id.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7F }) else {
            throw ControlPlaneError(.invalid, "a proxy id is 1 to 253 printable ASCII characters without spaces")
        }
    }
}
