import HeddleControlPlane
import Testing

/// The `Store` contract, once, for every implementation.
@Suite("Store contract")
struct StoreContractTests {
    @Test("An empty store is at its first revision (0, or etcd's before any write) and holds nothing", arguments: StoreImplementation.allCases)
    func empty(implementation: StoreImplementation) async throws {
        try await implementation.withStore { store throws in
            let r = implementation.base
            #expect(try await store.currentRevision() == r)
            #expect(try await store.resources(kind: nil).isEmpty)
            #expect(try await store.resource(kind: "Service", name: "web") == nil)
            #expect(try await store.instances(service: nil).isEmpty)
            #expect(try await store.changes(after: 0, limit: 100).isEmpty)
            #expect(try await store.deleteInstance(id: "nobody") == nil)
            #expect(try await store.currentRevision() == r)
        }
    }

    @Test("Every write takes the next revision of one counter, across resources and instances", arguments: StoreImplementation.allCases)
    func revisionsIncreaseByOne(implementation: StoreImplementation) async throws {
        try await implementation.withStore { store throws in
            let r = implementation.base
            #expect(try await store.putResource(kind: "Service", name: "web", document: "a", expectedRevision: nil).revision == r + 1)
            #expect(try await store.putInstance(instance("web-1", service: "web")).revision == r + 2)
            #expect(try await store.putResource(kind: "Route", name: "web", document: "b", expectedRevision: nil).revision == r + 3)
            #expect(try await store.putInstance(instance("web-1", service: "web", port: 9090)).revision == r + 4)
            #expect(try await store.deleteResource(kind: "Service", name: "web", expectedRevision: nil) == r + 5)
            #expect(try await store.deleteInstance(id: "web-1") == r + 6)
            #expect(try await store.putResource(kind: "Service", name: "web", document: "c", expectedRevision: 0).revision == r + 7)
            #expect(try await store.currentRevision() == r + 7)
        }
    }

    @Test("Writes that fail or find nothing to do take no revision", arguments: StoreImplementation.allCases)
    func failedWritesTakeNoRevision(implementation: StoreImplementation) async throws {
        try await implementation.withStore { store throws in
            let r = implementation.base
            _ = try await store.putResource(kind: "Service", name: "web", document: "a", expectedRevision: nil)
            await #expect(throws: StoreError.self) {
                try await store.putResource(kind: "Service", name: "web", document: "b", expectedRevision: 0)
            }
            await #expect(throws: StoreError.self) {
                try await store.deleteResource(kind: "Service", name: "api", expectedRevision: nil)
            }
            #expect(try await store.deleteInstance(id: "nobody") == nil)
            #expect(try await store.currentRevision() == r + 1)
            #expect(try await store.putResource(kind: "Service", name: "api", document: "c", expectedRevision: nil).revision == r + 2)
            #expect(try await store.changes(after: r + 0, limit: 10).map(\.revision) == [r + 1, r + 2])
        }
    }

    @Test("A resource is created, replaced (keeping its create revision), deleted and created anew", arguments: StoreImplementation.allCases)
    func createReplaceDelete(implementation: StoreImplementation) async throws {
        try await implementation.withStore { store throws in
            let r = implementation.base
            let created = try await store.putResource(kind: "Service", name: "web", document: "port: 80", expectedRevision: nil)
            #expect(created == StoredResource(kind: "Service", name: "web", document: "port: 80", createRevision: r + 1, revision: r + 1))
            #expect(try await store.resource(kind: "Service", name: "web") == created)

            _ = try await store.putResource(kind: "Service", name: "other", document: "x", expectedRevision: nil)
            let replaced = try await store.putResource(kind: "Service", name: "web", document: "port: 81", expectedRevision: nil)
            #expect(replaced == StoredResource(kind: "Service", name: "web", document: "port: 81", createRevision: r + 1, revision: r + 3))
            #expect(try await store.resource(kind: "Service", name: "web") == replaced)

            #expect(try await store.deleteResource(kind: "Service", name: "web", expectedRevision: nil) == r + 4)
            #expect(try await store.resource(kind: "Service", name: "web") == nil)
            #expect(try await store.resources(kind: "Service").map(\.name) == ["other"])

            let recreated = try await store.putResource(kind: "Service", name: "web", document: "port: 82", expectedRevision: nil)
            #expect(recreated == StoredResource(kind: "Service", name: "web", document: "port: 82", createRevision: r + 5, revision: r + 5))
        }
    }

    @Test("The same name under two kinds is two resources", arguments: StoreImplementation.allCases)
    func kindsAreSeparate(implementation: StoreImplementation) async throws {
        try await implementation.withStore { store throws in
            _ = try await store.putResource(kind: "Service", name: "web", document: "s", expectedRevision: 0)
            _ = try await store.putResource(kind: "Route", name: "web", document: "r", expectedRevision: 0)
            #expect(try await store.resource(kind: "Service", name: "web")?.document == "s")
            #expect(try await store.resource(kind: "Route", name: "web")?.document == "r")
        }
    }

    @Test("Compare-and-swap: 0 creates, the current revision replaces or deletes", arguments: StoreImplementation.allCases)
    func compareAndSwapSucceeds(implementation: StoreImplementation) async throws {
        try await implementation.withStore { store throws in
            let r = implementation.base
            let created = try await store.putResource(kind: "Service", name: "web", document: "a", expectedRevision: 0)
            let replaced = try await store.putResource(kind: "Service", name: "web", document: "b", expectedRevision: created.revision)
            #expect(replaced.document == "b")
            #expect(replaced.createRevision == created.revision)
            #expect(try await store.deleteResource(kind: "Service", name: "web", expectedRevision: replaced.revision) == r + 3)
            #expect(try await store.resource(kind: "Service", name: "web") == nil)
        }
    }

    @Test("Compare-and-swap: every mismatch is a conflict naming both revisions, and changes nothing", arguments: StoreImplementation.allCases)
    func compareAndSwapConflicts(implementation: StoreImplementation) async throws {
        try await implementation.withStore { store throws in
            let r = implementation.base
            _ = try await store.putResource(kind: "Service", name: "web", document: "a", expectedRevision: nil)
            let current = try await store.putResource(kind: "Service", name: "web", document: "b", expectedRevision: nil)

            // Must not exist, but does.
            await #expect(throws: StoreError.conflict(resource: "Service/web", expected: 0, current: r + 2)) {
                try await store.putResource(kind: "Service", name: "web", document: "c", expectedRevision: 0)
            }
            // Read at 1, changed since.
            await #expect(throws: StoreError.conflict(resource: "Service/web", expected: r + 1, current: r + 2)) {
                try await store.putResource(kind: "Service", name: "web", document: "c", expectedRevision: r + 1)
            }
            // Expected at a revision, but does not exist.
            await #expect(throws: StoreError.conflict(resource: "Service/api", expected: r + 2, current: 0)) {
                try await store.putResource(kind: "Service", name: "api", document: "c", expectedRevision: r + 2)
            }
            // A deletion of a changed resource.
            await #expect(throws: StoreError.conflict(resource: "Service/web", expected: r + 1, current: r + 2)) {
                try await store.deleteResource(kind: "Service", name: "web", expectedRevision: r + 1)
            }
            await #expect(throws: StoreError.conflict(resource: "Service/web", expected: 0, current: r + 2)) {
                try await store.deleteResource(kind: "Service", name: "web", expectedRevision: 0)
            }

            #expect(try await store.resource(kind: "Service", name: "web") == current)
            #expect(try await store.resource(kind: "Service", name: "api") == nil)
            #expect(try await store.currentRevision() == r + 2)
        }
    }

    @Test("Deleting what does not exist is notFound, with or without an expected revision", arguments: StoreImplementation.allCases)
    func notFound(implementation: StoreImplementation) async throws {
        try await implementation.withStore { store throws in
            let r = implementation.base
            await #expect(throws: StoreError.notFound(resource: "Service/web")) {
                try await store.deleteResource(kind: "Service", name: "web", expectedRevision: nil)
            }
            await #expect(throws: StoreError.notFound(resource: "Service/web")) {
                try await store.deleteResource(kind: "Service", name: "web", expectedRevision: r + 3)
            }
            _ = try await store.putResource(kind: "Service", name: "web", document: "a", expectedRevision: nil)
            _ = try await store.deleteResource(kind: "Service", name: "web", expectedRevision: r + 1)
            await #expect(throws: StoreError.notFound(resource: "Service/web")) {
                try await store.deleteResource(kind: "Service", name: "web", expectedRevision: r + 1)
            }
        }
    }

    @Test("Resources list by kind then name; a kind filter keeps that kind", arguments: StoreImplementation.allCases)
    func resourceListing(implementation: StoreImplementation) async throws {
        try await implementation.withStore { store throws in
            for (kind, name) in [("Service", "web"), ("Route", "web"), ("Service", "api"), ("Policy", "retry"), ("Route", "api"), ("Service", "db")] {
                _ = try await store.putResource(kind: kind, name: name, document: "\(kind) \(name)", expectedRevision: 0)
            }
            let all = try await store.resources(kind: nil)
            #expect(all.map { "\($0.kind)/\($0.name)" } == [
                "Policy/retry", "Route/api", "Route/web", "Service/api", "Service/db", "Service/web",
            ])
            #expect(all.allSatisfy { $0.document == "\($0.kind) \($0.name)" })
            #expect(try await store.resources(kind: "Service").map(\.name) == ["api", "db", "web"])
            #expect(try await store.resources(kind: "Route").map(\.name) == ["api", "web"])
            #expect(try await store.resources(kind: "Gateway").isEmpty)
        }
    }

    /// The order is SQLite's: UTF-8 bytes, so upper case before lower case, and text that
    /// Swift calls equal (canonically equivalent) but that differs in bytes is two keys.
    @Test("Keys compare by their UTF-8 bytes", arguments: StoreImplementation.allCases)
    func bytewiseKeys(implementation: StoreImplementation) async throws {
        try await implementation.withStore { store throws in
            let r = implementation.base
            let precomposed = "caf\u{E9}"
            let decomposed = "cafe\u{301}"
            for name in ["b", "B", "a", precomposed, decomposed] {
                _ = try await store.putResource(kind: "Service", name: name, document: name, expectedRevision: 0)
            }
            let names = try await store.resources(kind: "Service").map(\.name)
            #expect(names.map { Array($0.utf8) } == ["B", "a", "b", decomposed, precomposed].map { Array($0.utf8) })
            #expect(try await store.resource(kind: "Service", name: precomposed)?.revision == r + 4)
            #expect(try await store.resource(kind: "Service", name: decomposed)?.revision == r + 5)

            _ = try await store.putInstance(instance(precomposed, service: "s"))
            _ = try await store.putInstance(instance(decomposed, service: "s"))
            #expect(try await store.instances(service: "s").count == 2)
        }
    }

    @Test("Instances list by service then id; a service filter keeps that service", arguments: StoreImplementation.allCases)
    func instanceListing(implementation: StoreImplementation) async throws {
        try await implementation.withStore { store throws in
            let r = implementation.base
            for (id, service) in [("web-2", "web"), ("api-1", "api"), ("web-1", "web"), ("db-1", "db"), ("api-0", "api"), ("x-1", "web")] {
                _ = try await store.putInstance(instance(id, service: service))
            }
            #expect(try await store.instances(service: nil).map(\.id) == ["api-0", "api-1", "db-1", "web-1", "web-2", "x-1"])
            #expect(try await store.instances(service: "web").map(\.id) == ["web-1", "web-2", "x-1"])
            #expect(try await store.instances(service: "cache").isEmpty)

            #expect(try await store.deleteInstance(id: "web-1") == r + 7)
            #expect(try await store.instances(service: "web").map(\.id) == ["web-2", "x-1"])
        }
    }

    @Test("An instance comes back as written, labels included; the store sets its revision", arguments: StoreImplementation.allCases)
    func instanceRoundTrip(implementation: StoreImplementation) async throws {
        try await implementation.withStore { store throws in
            let r = implementation.base
            _ = try await store.putResource(kind: "Service", name: "web", document: "a", expectedRevision: nil)
            let labels = [
                "version": "v2", "zone": "eu-west-1a", "empty": "", "quote\"d": "back\\slash",
                "ünïcödé": "日本語 🚀", "multi\nline": "tab\there", "app.kubernetes.io/name": "web",
            ]
            let written = StoredInstance(
                id: "web-7f3a", service: "web", address: "fd00::12", port: 65535, protocol: "grpc",
                labels: labels, weight: 250, health: "unhealthy", revision: 999, mutualTLS: true, adminAddress: "[fd00::12]:4191")
            let stored = try await store.putInstance(written)
            var expected = written
            expected.revision = r + 2
            #expect(stored == expected)
            #expect(try await store.instances(service: "web") == [expected])

            let bare = try await store.putInstance(instance("web-bare", service: "web"))
            #expect(bare.labels.isEmpty)
            #expect(bare.adminAddress == nil)
            #expect(try await store.instances(service: "web").last == bare)

            var replacement = expected
            replacement.labels = ["version": "v3"]
            replacement.health = "healthy"
            replacement.port = 8443
            let replaced = try await store.putInstance(replacement)
            #expect(replaced.revision == r + 4)
            #expect(try await store.instances(service: nil) == [replaced, bare])
            #expect(try await store.changes(after: r + 1, limit: 10) == [.instancePut(expected), .instancePut(bare), .instancePut(replaced)])
        }
    }

    @Test("The change log holds every write in order: puts with their records, deletions with their keys", arguments: StoreImplementation.allCases)
    func changeLog(implementation: StoreImplementation) async throws {
        try await implementation.withStore { store throws in
            let r = implementation.base
            let web = try await store.putResource(kind: "Service", name: "web", document: "a", expectedRevision: nil)
            let web1 = try await store.putInstance(instance("web-1", service: "web", labels: ["v": "1"]))
            let web2 = try await store.putResource(kind: "Service", name: "web", document: "b", expectedRevision: web.revision)
            let route = try await store.putResource(kind: "Route", name: "web", document: "r", expectedRevision: 0)
            let deleted = try await store.deleteResource(kind: "Service", name: "web", expectedRevision: nil)
            let removed = try #require(try await store.deleteInstance(id: "web-1"))
            let expected: [StoreChange] = [
                .resourcePut(web), .instancePut(web1), .resourcePut(web2), .resourcePut(route),
                .resourceDeleted(kind: "Service", name: "web", revision: deleted),
                .instanceDeleted(id: "web-1", revision: removed),
            ]
            #expect(expected.map(\.revision) == [r + 1, r + 2, r + 3, r + 4, r + 5, r + 6])
            #expect(try await store.changes(after: r + 0, limit: 100) == expected)
            #expect(try await store.changes(after: r + 0, limit: 2) == Array(expected[0..<2]))
            #expect(try await store.changes(after: r + 2, limit: 3) == Array(expected[2..<5]))
            #expect(try await store.changes(after: r + 5, limit: 100) == [expected[5]])
            #expect(try await store.changes(after: r + 6, limit: 100).isEmpty)
            #expect(try await store.changes(after: r + 600, limit: 100).isEmpty)
            #expect(try await store.changes(after: r + 0, limit: 0).isEmpty)
        }
    }

    @Test("A reader that resumes from the last revision it saw misses nothing and sees nothing twice", arguments: StoreImplementation.allCases)
    func resumingReader(implementation: StoreImplementation) async throws {
        try await implementation.withStore { store throws in
            let r = implementation.base
            var seen: [Int64] = []
            var cursor: Int64 = 0
            func drain() async throws {
                while true {
                    let page = try await store.changes(after: cursor, limit: 3)
                    guard let last = page.last else { return }
                    seen += page.map(\.revision)
                    cursor = last.revision
                }
            }
            for index in 0..<10 {
                _ = try await store.putResource(kind: "Service", name: "s\(index % 4)", document: "\(index)", expectedRevision: nil)
            }
            try await drain()
            for index in 0..<5 {
                _ = try await store.putInstance(instance("i\(index)", service: "s"))
            }
            try await drain()
            #expect(seen == Array((r + 1)...(r + 15)))
            #expect(cursor == (try await store.currentRevision()))
        }
    }

    @Test("Compaction keeps the latest changes; older ones are refused with the oldest kept", arguments: StoreImplementation.allCases)
    func compactionBoundary(implementation: StoreImplementation) async throws {
        try await implementation.withStore(retainedChanges: 5) { store throws in
            let r = implementation.base
            for index in 1...5 {
                _ = try await store.putResource(kind: "Service", name: "s\(index)", document: "", expectedRevision: nil)
            }
            // Nothing compacted while no more than 5 changes were written.
            #expect(try await store.changes(after: r + 0, limit: 100).map(\.revision) == [r + 1, r + 2, r + 3, r + 4, r + 5])

            for index in 6...12 {
                _ = try await store.putResource(kind: "Service", name: "s\(index)", document: "", expectedRevision: nil)
            }
            #expect(try await store.changes(after: r + 7, limit: 100).map(\.revision) == [r + 8, r + 9, r + 10, r + 11, r + 12])
            #expect(try await store.changes(after: r + 10, limit: 100).map(\.revision) == [r + 11, r + 12])
            #expect(try await store.changes(after: r + 12, limit: 100).isEmpty)
            await #expect(throws: StoreError.compacted(requested: r + 6, oldest: r + 8)) {
                try await store.changes(after: r + 6, limit: 100)
            }
            await #expect(throws: StoreError.compacted(requested: r + 0, oldest: r + 8)) {
                try await store.changes(after: r + 0, limit: 100)
            }
            // Even a request for nothing is refused: the reader has to start over.
            await #expect(throws: StoreError.compacted(requested: r + 6, oldest: r + 8)) {
                try await store.changes(after: r + 6, limit: 0)
            }

            // The boundary moves with every write; the resources themselves are all still there.
            _ = try await store.deleteResource(kind: "Service", name: "s1", expectedRevision: nil)
            await #expect(throws: StoreError.compacted(requested: r + 7, oldest: r + 9)) {
                try await store.changes(after: r + 7, limit: 100)
            }
            #expect(try await store.changes(after: r + 8, limit: 100).map(\.revision) == [r + 9, r + 10, r + 11, r + 12, r + 13])
            #expect(try await store.resources(kind: "Service").count == 11)
        }
    }

    @Test("Right after compaction, the current revision is still a valid place to resume from", arguments: StoreImplementation.allCases)
    func currentRevisionAlwaysResumes(implementation: StoreImplementation) async throws {
        try await implementation.withStore(retainedChanges: 1) { store throws in
            for index in 1...6 {
                let before = try await store.currentRevision()
                let written = try await store.putInstance(instance("i\(index % 2)", service: "s"))
                #expect(try await store.changes(after: before, limit: 10) == [.instancePut(written)])
                #expect(try await store.changes(after: written.revision, limit: 10).isEmpty)
                if written.revision > implementation.base + 1 {
                    await #expect(throws: StoreError.compacted(requested: before - 1, oldest: written.revision)) {
                        try await store.changes(after: before - 1, limit: 10)
                    }
                }
            }
        }
    }

    @Test("Concurrent writers get distinct, contiguous revisions and lose no write", arguments: StoreImplementation.allCases)
    func concurrentWriters(implementation: StoreImplementation) async throws {
        try await implementation.withStore { store throws in
            let r = implementation.base
            let writers = 100
            let revisions = try await withThrowingTaskGroup(of: Int64.self) { group in
                for index in 0..<writers {
                    group.addTask {
                        try await store.putResource(kind: "Service", name: "s\(index)", document: "\(index)", expectedRevision: 0).revision
                    }
                    group.addTask {
                        try await store.putInstance(instance("i\(index)", service: "s\(index % 7)")).revision
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(revisions.sorted() == Array((r + 1)...(r + Int64(2 * writers))))
            #expect(try await store.currentRevision() == r + Int64(2 * writers))

            let resources = try await store.resources(kind: "Service")
            #expect(resources.count == writers)
            #expect(resources.allSatisfy { $0.document == $0.name.dropFirst() && $0.createRevision == $0.revision })
            let instances = try await store.instances(service: nil)
            #expect(instances.count == writers)

            let changes = try await store.changes(after: r + 0, limit: 10 * writers)
            #expect(changes.map(\.revision) == Array((r + 1)...(r + Int64(2 * writers))))
            var fromLog: [StoreChange] = resources.map { .resourcePut($0) } + instances.map { .instancePut($0) }
            fromLog.sort { $0.revision < $1.revision }
            #expect(changes == fromLog)
        }
    }

    @Test("Concurrent read-modify-write loops with compare-and-swap lose no increment", arguments: StoreImplementation.allCases)
    func concurrentCompareAndSwap(implementation: StoreImplementation) async throws {
        try await implementation.withStore { store throws in
            let r = implementation.base
            _ = try await store.putResource(kind: "Counter", name: "hits", document: "0", expectedRevision: 0)
            let tasks = 8
            let increments = 10
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<tasks {
                    group.addTask {
                        for _ in 0..<increments {
                            while true {
                                let read = try #require(try await store.resource(kind: "Counter", name: "hits"))
                                let next = String(try #require(Int(read.document)) + 1)
                                do {
                                    _ = try await store.putResource(kind: "Counter", name: "hits", document: next, expectedRevision: read.revision)
                                    break
                                } catch StoreError.conflict {
                                    await Task.yield()
                                }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let counter = try #require(try await store.resource(kind: "Counter", name: "hits"))
            #expect(counter.document == String(tasks * increments))
            #expect(counter.revision == r + Int64(tasks * increments + 1))
            #expect(counter.createRevision == r + 1)
        }
    }
}

/// An instance with defaults for what a test does not care about.
func instance(_ id: String, service: String, port: Int = 8080, labels: [String: String] = [:]) -> StoredInstance {
    StoredInstance(id: id, service: service, address: "10.0.0.1", port: port, protocol: "http2", labels: labels)
}
