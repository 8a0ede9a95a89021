import HeddleAPI
import HeddleCore
import Logging

extension ControlPlane {
    /// Registers an instance, healthy, with a lease its sidecar keeps by heartbeat. Registering
    /// the same service, address and port again replaces that instance (a restarted sidecar
    /// keeps its id); `invalid` with field errors when the request is wrong.
    public func register(_ request: RegisterRequest) async throws -> Instance {
        try RegistrationValidator.validate(request)
        try refuseWhileStale()
        return try await exclusively {
            let id = instances.id(service: request.service, host: request.address, port: request.port) ?? newInstanceID(service: request.service)
            let record = StoredInstance(
                id: id, service: request.service, address: request.address, port: request.port, protocol: request.protocol, labels: request.labels,
                weight: request.weight, health: Instance.Health.healthy.rawValue, mutualTLS: request.mutualTLS, adminAddress: request.adminAddress)
            let stored = try await storing { try await store.putInstance(record) }
            let lease = InstanceLease(duration: .seconds(request.leaseSeconds), renewedAt: now())
            let instance = RegisteredInstance(stored: stored, lease: lease, reportedHealthy: true)
            instances[id] = instance
            revision = max(revision, stored.revision)
            noteLocalWrite("instance/\(id)", stored.revision)
            noteChange()
            logger.info("instance registered", metadata: ["instance": "\(id)", "service": "\(request.service)", "address": "\(instance.address)"])
            return instance.wire
        }
    }

    /// Renews the instance's lease (no store write, unless the instance comes back from an
    /// expired lease, or another control plane held it: then this one takes it over);
    /// `notFound` when it is not registered, so its sidecar registers again.
    public func heartbeat(id: String) async throws {
        try refuseWhileStale()
        try await exclusively {
            var instance = try registered(id)
            instance.lease.renew(at: now())
            try await save(instance)
        }
    }

    /// What the instance's proxy finds of its app; also renews the lease. An unhealthy
    /// instance is left out of the endpoints pushed to proxies.
    public func reportHealth(id: String, healthy: Bool) async throws -> Instance {
        try refuseWhileStale()
        return try await exclusively {
            var instance = try registered(id)
            instance.reportedHealthy = healthy
            instance.lease.renew(at: now())
            return try await save(instance).wire
        }
    }

    /// Removes the instance; `notFound` when it is not registered.
    public func deregister(id: String) async throws {
        try await exclusively {
            let instance = try registered(id)
            try await remove(instance)
        }
    }

    /// Every registered instance, or those of `service`, ordered by service then id.
    public func instances(service: String? = nil) -> ItemList<Instance> {
        let items = instances.values
            .filter { service == nil || $0.stored.service == service }
            .map(\.wire)
            .sorted { ($0.service, $0.id) < ($1.service, $1.id) }
        return ItemList(revision: revision, items: items)
    }

    /// Every service named by a `Service` resource or by a registered instance, with its
    /// instance counts.
    public func services() -> ItemList<ServiceSummary> {
        var summaries: [String: ServiceSummary] = [:]
        for key in resources.keys where key.kind == .service {
            summaries[key.name] = ServiceSummary(name: key.name, declared: true, healthyInstances: 0, totalInstances: 0)
        }
        for instance in instances.values {
            let name = instance.stored.service
            summaries[name, default: ServiceSummary(name: name, declared: false, healthyInstances: 0, totalInstances: 0)].totalInstances += 1
            if instance.health == .healthy { summaries[name]?.healthyInstances += 1 }
        }
        return ItemList(revision: revision, items: summaries.values.sorted { $0.name < $1.name })
    }

    /// Marks unhealthy every instance whose lease ran out, and removes those whose lease ran
    /// out twice over. `run()` calls it every `settings.leaseSweepInterval`; a store failure
    /// is logged and the instance is tried again at the next sweep.
    public func sweepLeases() async {
        await exclusively {
            let now = now()
            // Only the leases due are sorted (in id order, for a stable log), not every one.
            // An instance another control plane holds is its to sweep.
            let due = instances.values.filter { $0.stored.heldHere && $0.lease.action(at: now) != .none }.map(\.stored.id).sorted()
            for id in due {
                guard var instance = instances[id] else { continue }
                do {
                    switch instance.lease.action(at: now) {
                    case .none:
                        continue
                    case .expire:
                        instance.lease.markExpired()
                        try await save(instance)
                        logger.info("instance lease expired: marked unhealthy", metadata: ["instance": "\(id)", "service": "\(instance.stored.service)"])
                    case .remove:
                        try await remove(instance)
                        logger.info("instance lease expired twice over: removed", metadata: ["instance": "\(id)", "service": "\(instance.stored.service)"])
                    }
                } catch {
                    logger.error("lease sweep could not write instance", metadata: ["instance": "\(id)", "error": "\(error)"])
                }
            }
        }
    }

    /// `unavailable` while the shared store has not answered for `settings.staleAfter`: the
    /// instances' leases in it may be running out unseen, so their sidecars go to another
    /// control plane, which takes them over.
    private func refuseWhileStale() throws(ControlPlaneError) {
        if let staleness { throw ControlPlaneError(.unavailable, staleness) }
    }

    private func registered(_ id: String) throws(ControlPlaneError) -> RegisteredInstance {
        guard let instance = instances[id] else {
            throw ControlPlaneError(.notFound, "instance \(id) is not registered (register it again)")
        }
        return instance
    }

    /// Keeps `instance`, writing it to the store first when its health changed or another
    /// control plane held it (this one takes it over).
    @discardableResult
    private func save(_ instance: RegisteredInstance) async throws -> RegisteredInstance {
        var instance = instance
        let takeover = !instance.stored.heldHere
        if takeover {
            instance.stored.heldHere = true
        }
        if takeover || instance.health.rawValue != instance.stored.health {
            let record = instance.updatedRecord
            instance.stored = try await storing { try await store.putInstance(record) }
            revision = max(revision, instance.stored.revision)
            noteLocalWrite("instance/\(instance.stored.id)", instance.stored.revision)
            noteChange()
            if takeover {
                logger.info("instance taken over from another control plane", metadata: ["instance": "\(instance.stored.id)", "service": "\(instance.stored.service)"])
            }
        }
        instances[instance.stored.id] = instance
        return instance
    }

    private func remove(_ instance: RegisteredInstance) async throws {
        let id = instance.stored.id
        let removed = try await storing { try await store.deleteInstance(id: id) }
        instances[id] = nil
        if let removed {
            revision = max(revision, removed)
            noteLocalWrite("instance/\(id)", removed)
        }
        noteChange()
    }

    /// `service-` and twelve random hex digits, unused.
    private func newInstanceID(service: String) -> String {
        while true {
            let id = "\(service)-\(String(UInt64.random(in: 0..<(1 << 48)), radix: 16).leftPadded(to: 12))"
            if instances[id] == nil { return id }
        }
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        String(repeating: "0", count: max(0, length - count)) + self
    }
}
