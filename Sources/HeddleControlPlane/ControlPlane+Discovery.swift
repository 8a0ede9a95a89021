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
    /// a request waits for it); the others are reported unknown. `notFound` for a proxy with no
    /// open watch; `invalid` for a name that is not a valid service name, or more than
    /// `settings.maxLearnedCalls` in one proxy's scope.
    public func learnCalls(proxyID: String, _ names: [String]) throws -> CallsResult {
        try Self.validateProxyID(proxyID)
        if let bad = names.first(where: { !ResourceMetadata.isValidName($0) }) {
            throw ControlPlaneError(.invalid, "add: '\(bad)' is not a valid service name")
        }
        let watches = hub.connections.filter { $0.proxyID == proxyID }
        guard !watches.isEmpty else {
            throw ControlPlaneError(.notFound, "proxy \(proxyID) has no open watch (GET /v1/watch?proxy=\(proxyID)&calls=... first)")
        }
        var known: [String] = []
        var unknown: [String] = []
        for name in Set(names).sorted() {
            if snapshot(scope: WatchScope(calls: [name])).resources.isEmpty {
                unknown.append(name)
            } else {
                known.append(name)
            }
        }
        guard !known.isEmpty else { return CallsResult(known: known, unknown: unknown) }
        for watch in watches {
            // A watch of the whole mesh already carries everything.
            guard let calls = watch.scope.calls, !Set(known).isSubset(of: calls) else { continue }
            let widened = calls.union(known)
            guard widened.count <= settings.maxLearnedCalls else {
                throw ControlPlaneError(.invalid, "proxy \(proxyID) would call more than \(settings.maxLearnedCalls) services; give it the whole mesh instead (no --calls)")
            }
            let scope = WatchScope(calls: widened, service: watch.service)
            hub.rescope(proxyID: proxyID, from: watch.scope, to: scope, push: snapshot(scope: scope))
        }
        logger.info("proxy learned calls", metadata: ["proxy": "\(proxyID)", "known": "\(known)", "unknown": "\(unknown)"])
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
        var healthy: [String: [RegisteredInstance]] = [:]
        for instance in instances.values where instance.health == .healthy {
            healthy[instance.stored.service, default: []].append(instance)
        }
        var services: [(name: String, input: SnapshotBuilder.ServiceInput)] = []
        var routes: [(name: String, document: String)] = []
        var routeSpecs: [String: HTTPRouteSpec] = [:]
        var policies: [(name: String, document: String, target: String)] = []
        var declared: Set<String> = []
        for (key, entry) in resources.sorted(by: { $0.key < $1.key }) where statuses[key]?.state == .accepted {
            switch entry.resource {
            case .service(let metadata, let spec)?:
                declared.insert(metadata.name)
                services.append((metadata.name, SnapshotBuilder.ServiceInput(document: entry.stored.document, spec: spec, instances: healthy[metadata.name] ?? [])))
            case .httpRoute(_, let spec)?:
                // A route attached only to a gateway's listeners is not the sidecars' (and would
                // make them refuse the push).
                guard Self.isPushedToSidecars(entry) else { continue }
                routes.append((key.name, entry.stored.document))
                routeSpecs[key.name] = spec
            case .authorizationPolicy(_, let spec)?:
                policies.append((key.name, entry.stored.document, spec.targetService))
            case .proxy?, nil:
                continue
            }
        }
        // A service that only has registered instances is reachable by its name too, with
        // what its sidecars registered as its protocol.
        for (name, members) in healthy.sorted(by: { $0.key < $1.key }) where !declared.contains(name) && ResourceMetadata.isValidName(name) {
            let proto = members.contains { $0.stored.protocol == "grpc" } ? UpstreamProtocol.grpc : .http2
            let document = "apiVersion: heddle.dev/v1alpha1\nkind: Service\nmetadata:\n  name: \(name)\nspec:\n  protocol: \(proto.rawValue)\n  endpoints: []\n"
            services.append((name, SnapshotBuilder.ServiceInput(document: document, spec: ServiceSpec(protocol: proto, endpoints: []), instances: members)))
        }
        if let calls = scope.calls {
            (services, routes) = Self.needed(by: calls, services: services, routes: routes, specs: routeSpecs)
            policies = policies.filter { $0.target == scope.service }
        }
        return ConfigPush(version: revision, resources: SnapshotBuilder.resources(
            services: services, routes: routes, policies: policies.map { ($0.name, $0.document) }, trustDomain: settings.trustDomain))
    }

    private static func validateProxyID(_ id: String) throws(ControlPlaneError) {
        guard !id.isEmpty, id.utf8.count <= 253, id.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7F }) else {
            throw ControlPlaneError(.invalid, "a proxy id is 1 to 253 printable ASCII characters without spaces")
        }
    }

    /// The part of the mesh a proxy whose app calls `calls` needs: the routes that may serve
    /// one of those hosts, the called services, and every service those routes send to.
    static func needed(
        by calls: Set<String>, services: [(name: String, input: SnapshotBuilder.ServiceInput)],
        routes: [(name: String, document: String)], specs: [String: HTTPRouteSpec]
    ) -> ([(name: String, input: SnapshotBuilder.ServiceInput)], [(name: String, document: String)]) {
        let keptRoutes = routes.filter { route in specs[route.name].map { spec in calls.contains { spec.serves(host: $0) } } ?? false }
        var wanted = calls
        for route in keptRoutes { wanted.formUnion(specs[route.name]?.referencedServices ?? []) }
        return (services.filter { wanted.contains($0.name) }, keptRoutes)
    }
}
