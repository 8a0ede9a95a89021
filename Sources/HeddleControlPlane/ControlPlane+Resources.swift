import HeddleAPI
import HeddleCore
import Logging

extension ControlPlane {
    /// Deletes a resource. With `expectedRevision`, only if it is still at that revision
    /// (`conflict` otherwise, with the current revision); `notFound` when it does not exist.
    public func delete(kind: String, name: String, expectedRevision: Int64? = nil) async throws -> DeleteResult {
        let key = ResourceKey(kind: try ResourceKey.kind(kind), name: name)
        return try await exclusively {
            guard let existing = resources[key] else {
                throw ControlPlaneError(.notFound, "\(key.reference) does not exist")
            }
            if let expectedRevision, expectedRevision != existing.stored.revision {
                throw ControlPlaneError(
                    .conflict, "\(key.reference) is at revision \(existing.stored.revision), not \(expectedRevision): it changed since it was read",
                    currentRevision: existing.stored.revision)
            }
            let deleted = try await storing {
                try await store.deleteResource(kind: key.kind.rawValue, name: key.name, expectedRevision: expectedRevision)
            }
            resources[key] = nil
            revision = max(revision, deleted)
            noteLocalWrite(key.reference, deleted)
            resourcesChanged()
            logger.info("resource deleted", metadata: ["resource": "\(key.reference)", "revision": "\(deleted)"])
            return DeleteResult(kind: key.kind.rawValue, name: key.name, revision: deleted)
        }
    }

    /// One resource, with its status; `notFound` when it does not exist.
    public func get(kind: String, name: String) throws -> ResourceEnvelope {
        let key = ResourceKey(kind: try ResourceKey.kind(kind), name: name)
        guard let entry = resources[key] else {
            throw ControlPlaneError(.notFound, "\(key.reference) does not exist")
        }
        var scopes = ScopeContents()
        return envelope(key, entry, &scopes)
    }

    /// Every resource, or those of `kind`, ordered by kind then name.
    public func list(kind: String? = nil) throws -> ItemList<ResourceEnvelope> {
        let kind = try kind.map { text throws(ControlPlaneError) in try ResourceKey.kind(text) }
        var scopes = ScopeContents()
        let items = resources.filter { kind == nil || $0.key.kind == kind }.sorted { $0.key < $1.key }.map { envelope($0.key, $0.value, &scopes) }
        return ItemList(revision: revision, items: items)
    }

    /// The resource keys each watch scope is pushed, worked out once per request.
    private typealias ScopeContents = [WatchScope: Set<String>]

    /// After a resource changed: judges every resource again, and wakes the watches.
    func resourcesChanged() {
        statuses = ResourceStatusEvaluator.evaluate(resources)
        acceptedInOrder = nil
        noteChange()
    }

    private func envelope(_ key: ResourceKey, _ entry: ResourceEntry, _ scopes: inout ScopeContents) -> ResourceEnvelope {
        let status = statuses[key] ?? ResourceStatus(state: .refused, errors: entry.decodeErrors)
        return ResourceEnvelope(
            kind: key.kind.rawValue, name: key.name, revision: entry.stored.revision, createdRevision: entry.stored.createRevision, document: entry.stored.document,
            status: status,
            rollout: status.state == .accepted && Self.isPushedToSidecars(entry) ? rollout(of: key, since: entry.stored.revision, &scopes) : nil)
    }

    /// The watching proxies that are pushed the resource (by their scope), sorted by id, by
    /// their answer to the versions from `revision` on.
    private func rollout(of key: ResourceKey, since revision: Int64, _ scopes: inout ScopeContents) -> ResourceRollout {
        var rollout = ResourceRollout()
        var watching: [String: WatchScope] = [:]
        for connection in hub.connections { watching[connection.proxyID] = connection.scope }
        for (id, scope) in watching.sorted(by: { $0.key < $1.key }) {
            if scope.calls != nil {
                if scopes[scope] == nil { scopes[scope] = Set(snapshot(scope: scope).resources.map(\.key)) }
                guard scopes[scope]?.contains(key.reference) == true else { continue }
            }
            guard let ack = proxyRecords[id]?.ack, ack.version >= revision else {
                rollout.pending.append(id)
                continue
            }
            if ack.accepted {
                rollout.running.append(id)
            } else {
                rollout.rejected.append(id)
            }
        }
        return rollout
    }

    /// Whether sidecars receive the resource (when accepted): every `Service` and
    /// `AuthorizationPolicy`; an `HTTPRoute` unless it is attached only to gateway listeners
    /// (sidecars have `outbound` and `inbound`).
    static func isPushedToSidecars(_ entry: ResourceEntry) -> Bool {
        switch entry.resource {
        case .service?, .authorizationPolicy?: true
        case .httpRoute(_, let spec)?: spec.parentRefs.isEmpty || spec.parentRefs.contains("outbound")
        case .proxy?, nil: false
        }
    }
}
