import HeddleControlPlane
import Testing

/// What the etcd store does beyond the `Store` contract (which it passes on a real etcd, see
/// `StoreContractTests`): the request size limit, members that are down, and `--store` URLs.
@Suite("etcd store")
struct EtcdStoreTests {
    @Test("A document over the limit is refused before it is sent, with its size and the limit; etcd's own refusal is named too")
    func tooLarge() async throws {
        let server = try await EtcdServer.start(["--max-request-bytes", "200000"])
        defer { server.stop() }
        let store = EtcdStore(endpoints: [server.clientURL], maxRequestBytes: 100_000)
        let large = String(repeating: "x", count: 120_000)
        await #expect(throws: StoreError.tooLarge(resource: "Service/big", bytes: 120_000, limit: 95_904)) {
            try await store.putResource(kind: "Service", name: "big", document: large, expectedRevision: nil)
        }
        #expect(StoreError.tooLarge(resource: "Service/big", bytes: 120_000, limit: 95_904).description.contains("split it into smaller resources"))
        #expect(try await store.resource(kind: "Service", name: "big") == nil)

        // Told a larger limit than the cluster's: etcd refuses, and the error says what to set.
        let misconfigured = EtcdStore(endpoints: [server.clientURL])
        do {
            _ = try await misconfigured.putResource(kind: "Service", name: "big", document: String(repeating: "y", count: 300_000), expectedRevision: nil)
            Issue.record("etcd took a write over its --max-request-bytes")
        } catch let error as StoreError {
            #expect(error.description.contains("too large") && error.description.contains("max-request-bytes"), "\(error)")
        }
        #expect(try await store.putResource(kind: "Service", name: "small", document: "ok", expectedRevision: nil).document == "ok")
    }

    @Test("A member that is down is skipped; when none answers, the error names each")
    func memberFailover() async throws {
        let server = try await EtcdServer.start()
        defer { server.stop() }
        let dead = "http://127.0.0.1:1"
        let store = EtcdStore(endpoints: [dead, server.clientURL], timeout: .seconds(2))
        let written = try await store.putResource(kind: "Service", name: "web", document: "a", expectedRevision: 0)
        #expect(try await store.resource(kind: "Service", name: "web") == written)
        #expect(try await store.changes(after: 0, limit: 10) == [.resourcePut(written)])

        let nowhere = EtcdStore(endpoints: [dead, "http://127.0.0.1:2"], timeout: .seconds(2))
        do {
            _ = try await nowhere.currentRevision()
            Issue.record("a store with no member up answered")
        } catch let error as StoreError {
            let text = error.description
            #expect(text.hasPrefix("no etcd member answered") && text.contains("127.0.0.1:1") && text.contains("127.0.0.1:2"), "\(text)")
        }
    }

    @Test("--store URLs: sqlite, one or several etcd members, a prefix, the request limit; mistakes named")
    func locations() throws {
        #expect(try StoreLocation(parsing: "sqlite") == .sqlite)
        #expect(try StoreLocation(parsing: "etcd://127.0.0.1:2379") == .etcd(endpoints: ["http://127.0.0.1:2379"], prefix: "/heddle/", maxRequestBytes: 1_572_864))
        #expect(try StoreLocation(parsing: "etcd://a:2379,b:2379,[::1]:2379/mesh/prod?max-request-bytes=10485760") == .etcd(
            endpoints: ["http://a:2379", "http://b:2379", "http://[::1]:2379"], prefix: "/mesh/prod/", maxRequestBytes: 10_485_760))
        for (text, reason) in [
            ("mysql://x", "--store must be 'sqlite' or 'etcd://"),
            ("etcd://", "needs at least one member"),
            ("etcd://a", "etcd member 'a' is not host:port"),
            ("etcd://a:2379,", "etcd member '' is not host:port"),
            ("etcd://a:99999", "etcd member 'a:99999' is not host:port"),
            ("etcd://a:2379?colour=red", "'colour=red' is not a known option"),
            ("etcd://a:2379?max-request-bytes=10", "'max-request-bytes=10' is not a known option"),
        ] {
            #expect(throws: StoreLocationError.self, "\(text)") { try StoreLocation(parsing: text) }
            do {
                _ = try StoreLocation(parsing: text)
            } catch {
                #expect(error.description.contains(reason), "\(text): \(error)")
            }
        }
    }
}
