import HeddleAPI
import HeddleCore
import Logging

extension ControlPlane {
    /// With a shared store (etcd), other control planes write to it too: this reads their
    /// changes every `settings.followInterval` and applies them, so that every replica serves
    /// the same resources and registry, and pushes them to its own watches. Changes older than
    /// the store keeps (`compacted`) are replaced by a full read. When following fails for
    /// `settings.staleAfter`, the control plane stops serving what may be stale (see
    /// `storeLost`); it resumes once following works again.
    nonisolated func followStore() async {
        await startFollowing()
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: settings.followInterval)
            } catch {
                return
            }
            await followOnce()
        }
    }

    /// One round of following; failures are kept in `storeTrouble`.
    func followOnce() async {
        do {
            let changes = try await store.changes(after: followedRevision, limit: 1000)
            if !changes.isEmpty {
                await exclusively { applyFollowed(changes) }
            }
            storeWorks()
        } catch StoreError.compacted(_, let oldest) {
            logger.warning("the changes since this control plane last read are compacted away: reading the whole store", metadata: ["oldest": "\(oldest)"])
            do {
                try await reloadFromStore()
                storeWorks()
            } catch {
                storeFails(error)
            }
        } catch {
            storeFails(error)
        }
    }

    /// Applies changes read back from the store: each only when it is newer than what this
    /// control plane holds and than its own latest write of that key.
    func applyFollowed(_ changes: [StoreChange]) {
        var resourcesTouched = false
        var instancesTouched = false
        for change in changes {
            switch change {
            case .resourcePut(let stored):
                guard let key = Self.resourceKey(kind: stored.kind, name: stored.name), isNewer(stored.revision, than: key.reference),
                      (resources[key]?.stored.revision ?? 0) < stored.revision
                else { continue }
                resources[key] = ResourceEntry(restoring: stored)
                resourcesTouched = true
            case .resourceDeleted(let kind, let name, let deleted):
                guard let key = Self.resourceKey(kind: kind, name: name), isNewer(deleted, than: key.reference),
                      let current = resources[key], current.stored.revision < deleted
                else { continue }
                resources[key] = nil
                resourcesTouched = true
            case .instancePut(let stored):
                guard isNewer(stored.revision, than: "instance/\(stored.id)") else { continue }
                if var current = instances[stored.id] {
                    guard current.stored.revision < stored.revision else { continue }
                    if current.stored.heldHere, !stored.heldHere {
                        logger.info("instance taken over by another control plane", metadata: ["instance": "\(stored.id)", "service": "\(stored.service)"])
                    }
                    current.stored = stored
                    instances[stored.id] = current
                } else {
                    let lease = InstanceLease(duration: .seconds(settings.restoredLeaseSeconds), renewedAt: now())
                    instances[stored.id] = RegisteredInstance(stored: stored, lease: lease, reportedHealthy: true)
                }
                instancesTouched = true
            case .instanceDeleted(let id, let deleted):
                guard isNewer(deleted, than: "instance/\(id)"), let current = instances[id], current.stored.revision < deleted else { continue }
                instances[id] = nil
                instancesTouched = true
            }
        }
        if let last = changes.last?.revision {
            followedRevision = max(followedRevision, last)
            revision = max(revision, followedRevision)
            localWrites = localWrites.filter { $0.value > followedRevision }
        }
        if resourcesTouched {
            resourcesChanged()
        } else if instancesTouched {
            noteChange()
        }
    }

    /// Replaces the resources and instances with a full read of the store (after compaction),
    /// keeping the leases of the instances this control plane holds.
    func reloadFromStore() async throws {
        let current = try await store.currentRevision()
        let storedResources = try await store.resources(kind: nil)
        let storedInstances = try await store.instances(service: nil)
        await exclusively {
            resources = Dictionary(
                storedResources.compactMap { stored in Self.resourceKey(kind: stored.kind, name: stored.name).map { ($0, ResourceEntry(restoring: stored)) } },
                uniquingKeysWith: { first, _ in first })
            var reloaded: [String: RegisteredInstance] = [:]
            for stored in storedInstances {
                if var known = instances[stored.id] {
                    known.stored = stored
                    reloaded[stored.id] = known
                } else {
                    reloaded[stored.id] = RegisteredInstance(
                        stored: stored, lease: InstanceLease(duration: .seconds(settings.restoredLeaseSeconds), renewedAt: now()), reportedHealthy: true)
                }
            }
            instances = InstanceTable(reloaded)
            followedRevision = max(followedRevision, current)
            revision = max(revision, current)
            localWrites = localWrites.filter { $0.value > current }
            resourcesChanged()
        }
    }

    /// Whether `revision` is newer than this control plane's own latest write of `key`.
    private func isNewer(_ revision: Int64, than key: String) -> Bool {
        revision > (localWrites[key] ?? 0)
    }

    private static func resourceKey(kind: String, name: String) -> ResourceKey? {
        ResourceKey.storedKinds.first { $0.rawValue == kind }.map { ResourceKey(kind: $0, name: name) }
    }

    // MARK: - Losing the store

    private func startFollowing() {
        storeAnswered = ContinuousClock.now
    }

    /// Following works (again). Said so when it had failed, or had been away long enough to
    /// be stale (a round that hung on a store that did not answer fails nothing until it does).
    private func storeWorks() {
        // Only while `run()` follows: a round called on its own starts no staleness clock.
        guard let last = storeAnswered else {
            storeTrouble = nil
            return
        }
        let wasAway = storeTrouble != nil || servingStale || ContinuousClock.now - last >= settings.staleAfter
        storeAnswered = ContinuousClock.now
        guard wasAway else { return }
        storeTrouble = nil
        servingStale = false
        logger.notice("the store answers again: serving watches")
    }

    private func storeFails(_ error: any Error) {
        let reason = (error as? StoreError)?.description ?? "\(error)"
        if storeTrouble == nil {
            logger.warning("cannot follow the store", metadata: ["error": "\(reason)"])
        }
        storeTrouble = reason
        checkStaleness()
    }

    /// Closes the watches while the store has not answered for `settings.staleAfter`: those
    /// opened before it was lost, and any raced in since, are ended each round. Runs on its
    /// own timer too, since a round of following can hang on a store that drops packets.
    func checkStaleness() {
        guard let staleness else { return }
        if !servingStale {
            servingStale = true
            logger.error("closing the watches, which would serve stale configuration; proxies go to another control plane", metadata: ["reason": "\(staleness)"])
        }
        hub.finishAll()
    }

    /// Why this control plane must not serve configuration now (its shared store has not
    /// answered for `settings.staleAfter`); nil when it may.
    var staleness: String? {
        guard store.isShared, let storeAnswered else { return nil }
        let away = ContinuousClock.now - storeAnswered
        guard away >= settings.staleAfter else { return nil }
        return "this control plane has not reached its store for \(Int(away.components.seconds)) s (\(storeTrouble ?? "no answer yet")): its configuration may be stale; use another control plane"
    }
}
