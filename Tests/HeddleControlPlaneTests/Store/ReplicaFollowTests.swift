import HeddleAPI
import Logging
import Testing

@testable import HeddleControlPlane

/// Two control planes on one etcd (a real one, in this process): each follows the other's
/// writes, never lets an older change undo its own newer one, starts over from a full read
/// when the history it needs is compacted, and sweeps only the instances it holds.
@Suite("Replicas following a shared store")
struct ReplicaFollowTests {
    static func replica(_ server: EtcdServer, clock: VirtualClock, retainedChanges: Int = 10_000) async throws -> ControlPlane {
        var logger = Logger(label: "replica")
        logger.logLevel = .critical
        return try await ControlPlane(
            store: EtcdStore(endpoints: [server.clientURL], retainedChanges: retainedChanges), settings: testSettings(), logger: logger, now: clock.now)
    }

    @Test("A write through one replica reaches the other; a deletion too")
    func writesAreFollowed() async throws {
        let server = try await EtcdServer.start()
        defer { server.stop() }
        let clock = VirtualClock()
        let a = try await Self.replica(server, clock: clock)
        let b = try await Self.replica(server, clock: clock)
        _ = try await a.apply(yaml: serviceYAML("web"))
        _ = try await a.register(RegisterRequest(service: "api", address: "10.0.0.2", port: 8080, protocol: "http2", labels: [:], weight: 1, leaseSeconds: 10))
        await b.followOnce()
        #expect(try await b.list(kind: "Service").items.map(\.name) == ["web"])
        #expect(await b.instances(service: "api").items.count == 1)
        #expect(await b.snapshot().resources.map(\.key).contains("Service/web"))

        _ = try await b.delete(kind: "Service", name: "web")
        await a.followOnce()
        #expect(try await a.list(kind: "Service").items.isEmpty)
        #expect(await a.revision == (try await b.list(kind: nil).revision))
    }

    @Test("A replica's own newer write is not undone by an older change it reads back")
    func ownWritesWin() async throws {
        let server = try await EtcdServer.start()
        defer { server.stop() }
        let clock = VirtualClock()
        let a = try await Self.replica(server, clock: clock)
        let b = try await Self.replica(server, clock: clock)
        _ = try await a.apply(yaml: serviceYAML("web", endpoints: ["10.0.0.1:80"]))
        _ = try await b.apply(yaml: serviceYAML("web", endpoints: ["10.0.0.2:80"]))
        _ = try await a.apply(yaml: serviceYAML("web", endpoints: ["10.0.0.3:80"]))
        // A reads back B's write, older than its own last one.
        await a.followOnce()
        #expect(try await a.get(kind: "Service", name: "web").document.contains("10.0.0.3:80"))
        await b.followOnce()
        #expect(try await b.get(kind: "Service", name: "web").document.contains("10.0.0.3:80"), "both agree on the latest write")

        // Deleted here, then an older put read back: still deleted.
        _ = try await b.apply(yaml: serviceYAML("api"))
        _ = try await a.delete(kind: "Service", name: "web")
        await a.followOnce()
        await #expect(throws: ControlPlaneError.self) { try await a.get(kind: "Service", name: "web") }
        #expect(try await a.get(kind: "Service", name: "api").name == "api")
    }

    @Test("Compacted history: the replica reads the whole store again")
    func compactionStartsOver() async throws {
        let server = try await EtcdServer.start()
        defer { server.stop() }
        let clock = VirtualClock()
        let a = try await Self.replica(server, clock: clock, retainedChanges: 2)
        let b = try await Self.replica(server, clock: clock, retainedChanges: 2)
        for name in ["s1", "s2", "s3", "s4", "s5"] {
            _ = try await b.apply(yaml: serviceYAML(name))
        }
        await a.followOnce()
        #expect(try await a.list(kind: "Service").items.map(\.name) == ["s1", "s2", "s3", "s4", "s5"])
        #expect(await a.staleness == nil)
    }

    @Test("An instance another replica took over is that replica's to sweep")
    func sweepsOnlyHeldInstances() async throws {
        let server = try await EtcdServer.start()
        defer { server.stop() }
        let clock = VirtualClock()
        let a = try await Self.replica(server, clock: clock)
        let b = try await Self.replica(server, clock: clock)
        let registered = try await a.register(RegisterRequest(service: "api", address: "10.0.0.2", port: 8080, protocol: "http2", labels: [:], weight: 1, leaseSeconds: 10))
        await b.followOnce()
        // Its sidecar moves to B: B takes it over; A reads that back.
        try await b.heartbeat(id: registered.id)
        await a.followOnce()
        // Long past A's lease: A leaves it alone, B still holds it healthy while it heartbeats.
        clock.advance(.seconds(25))
        try await b.heartbeat(id: registered.id)
        await a.sweepLeases()
        await b.sweepLeases()
        await a.followOnce()
        #expect(await a.instances(service: "api").items.map(\.health) == [.healthy])
        #expect(await b.instances(service: "api").items.map(\.health) == [.healthy])
        // B's lease runs out without heartbeats: B marks it unhealthy, and A follows (a round
        // on a loaded machine may time out and leave it to the next).
        clock.advance(.seconds(11))
        await b.sweepLeases()
        #expect(await b.instances(service: "api").items.map(\.health) == [.unhealthy])
        for _ in 0..<20 {
            await a.followOnce()
            if await a.instances(service: "api").items.map(\.health) == [.unhealthy] { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(await a.instances(service: "api").items.map(\.health) == [.unhealthy])
    }
}
