import HeddleAPI
import HeddleCore
import Logging

extension ControlPlane {
    /// What to do with one document of an apply.
    private enum Plan {
        case refused(ApplyResult.Item)
        case unchanged(document: Int, key: ResourceKey)
        case write(document: Int, key: ResourceKey, resource: Resource, text: String, previous: StoredResource?)
    }

    /// Applies YAML documents (`Service` and `HTTPRoute`), each on its own: an invalid one is
    /// refused with its field errors and changes nothing, a valid one is stored (as its own
    /// text) unless identical to the stored one. Then every resource is judged with all the
    /// others (`ResourceStatus`), and the watches are updated.
    ///
    /// Throws `invalid`, with every field error, when no document could be applied (all were
    /// refused, or there were none); `unavailable` when the store fails (the documents before
    /// the failing one are stored).
    public func apply(yaml: String, dryRun: Bool = false) async throws -> ApplyResult {
        try await exclusively {
            let plans = try plan(YAMLDocumentSplitter.split(yaml))
            return dryRun ? preview(plans) : try await carryOut(plans)
        }
    }

    private func plan(_ documents: [YAMLDocument]) throws(ControlPlaneError) -> [Plan] {
        guard !documents.isEmpty else {
            throw ControlPlaneError(.invalid, "the request holds no YAML document")
        }
        var plans: [Plan] = []
        var seen: Set<ResourceKey> = []
        for (index, document) in documents.enumerated() {
            let number = index + 1
            if let limit = store.documentLimit, document.text.utf8.count > limit {
                // Refused before it is read: decoding megabytes of YAML to refuse them is slow.
                let reason = StoreError.tooLargeReason(bytes: document.text.utf8.count, limit: limit)
                plans.append(.refused(ApplyResult.Item(
                    document: number, kind: "", name: "", action: .refused,
                    errors: [FieldError(resource: "document \(number)", path: "", reason: reason, line: document.firstLine)])))
                continue
            }
            switch DocumentReader.read(document, number: number) {
            case let .refused(kind, name, errors):
                plans.append(.refused(ApplyResult.Item(document: number, kind: kind, name: name, action: .refused, errors: errors)))
            case let .resource(resource, text):
                let key = ResourceKey(kind: resource.kind, name: resource.metadata.name)
                guard seen.insert(key).inserted else {
                    let error = FieldError(resource: key.reference, path: "metadata.name", reason: "\(key.reference) is given twice in this request", line: document.firstLine)
                    plans.append(.refused(ApplyResult.Item(document: number, kind: key.kind.rawValue, name: key.name, action: .refused, errors: [error])))
                    continue
                }
                let existing = resources[key]?.stored
                if existing?.document == text {
                    plans.append(.unchanged(document: number, key: key))
                } else {
                    plans.append(.write(document: number, key: key, resource: resource, text: text, previous: existing))
                }
            }
        }
        let refusals = plans.compactMap { plan -> ApplyResult.Item? in
            if case .refused(let item) = plan { return item }
            return nil
        }
        if refusals.count == plans.count {
            let message = refusals.count == 1 ? "the document was refused" : "all \(refusals.count) documents were refused"
            throw ControlPlaneError(.invalid, message, errors: refusals.flatMap(\.errors))
        }
        return plans
    }

    /// What the apply would do, judged as if it were done; nothing is stored.
    private func preview(_ plans: [Plan]) -> ApplyResult {
        var entries = resources
        for case let .write(_, key, resource, text, previous) in plans {
            let stored = StoredResource(kind: key.kind.rawValue, name: key.name, document: text, createRevision: previous?.createRevision ?? 0, revision: 0)
            entries[key] = ResourceEntry(stored: stored, resource: resource)
        }
        return ApplyResult(items: items(plans, statuses: ResourceStatusEvaluator.evaluate(entries), written: nil), revision: revision, dryRun: true)
    }

    private func carryOut(_ plans: [Plan]) async throws -> ApplyResult {
        var revisions: [ResourceKey: Int64] = [:]
        do {
            for case let .write(_, key, resource, text, previous) in plans {
                let stored = try await storing {
                    try await store.putResource(kind: key.kind.rawValue, name: key.name, document: text, expectedRevision: nil)
                }
                resources[key] = ResourceEntry(stored: stored, resource: resource)
                revision = max(revision, stored.revision)
                noteLocalWrite(key.reference, stored.revision)
                revisions[key] = stored.revision
                logger.info("resource \(previous == nil ? "created" : "updated")", metadata: ["resource": "\(key.reference)", "revision": "\(stored.revision)"])
            }
        } catch {
            // What was stored before the failure is in force.
            if !revisions.isEmpty { resourcesChanged() }
            throw error
        }
        if !revisions.isEmpty { resourcesChanged() }
        return ApplyResult(items: items(plans, statuses: statuses, written: revisions), revision: revision)
    }

    /// The result's items: for a carried-out apply, `written` holds the new revisions; for a
    /// preview (nil), an update shows the document it would replace and the one it would store.
    private func items(_ plans: [Plan], statuses: [ResourceKey: ResourceStatus], written: [ResourceKey: Int64]?) -> [ApplyResult.Item] {
        plans.map { plan -> ApplyResult.Item in
            switch plan {
            case .refused(let item):
                return item
            case let .unchanged(document, key):
                return ApplyResult.Item(document: document, kind: key.kind.rawValue, name: key.name, action: .unchanged, revision: resources[key]?.stored.revision, status: statuses[key])
            case let .write(document, key, _, text, previous):
                let preview = written == nil && previous != nil
                return ApplyResult.Item(
                    document: document, kind: key.kind.rawValue, name: key.name, action: previous == nil ? .created : .updated, revision: written?[key],
                    status: statuses[key], previous: preview ? previous?.document : nil, proposed: preview ? text : nil)
            }
        }
    }
}
