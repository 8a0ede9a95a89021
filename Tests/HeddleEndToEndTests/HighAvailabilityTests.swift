import Foundation
import Synchronization
import Testing

/// The mesh on a 3-member etcd cluster with two control-plane replicas: losing the etcd
/// leader, then a replica, while routes change and traffic flows costs no request and no
/// acknowledged write, and every proxy converges; a replica partitioned from etcd (nftables in
/// a network namespace) stops serving and says so, and its proxies go to the other.
@Suite(.serialized)
struct HighAvailabilityTests {
    @Test func losingTheEtcdLeaderThenAReplicaCostsNoRequestAndNoWrite() async throws {
        let etcd = try await EtcdCluster(members: 3)
        let (a, b) = try await Self.replicas(store: etcd.store())
        let both = "\(a.url),\(b.url)"
        let v1 = try await Upstream(.http, name: "users-v1")
        let v2 = try await Upstream(.http, name: "users-v2")
        let web = try await Upstream(.http, name: "web")
        let userSidecars = [
            try await SidecarProcess(controlPlane: both, service: "users-v1", appPort: v1.port, extra: ["--join-token", try joinToken(controlPlane: a.url, service: "users-v1")]),
            try await SidecarProcess(
                controlPlane: "\(b.url),\(a.url)", service: "users-v2", appPort: v2.port, extra: ["--join-token", try joinToken(controlPlane: b.url, service: "users-v2")]),
        ]
        let client = try await SidecarProcess(controlPlane: both, service: "web", appPort: web.port, extra: ["--join-token", try joinToken(controlPlane: a.url, service: "web")])
        #expect(try await Self.apply(ControlPlaneReplicaTests.route(v1: 100, v2: 0), through: both).failures.isEmpty)
        #expect(try await ControlPlaneReplicaTests.eventually(client, ["200 users-v1"]))

        let traffic = Traffic(port: client.outbound)
        try await Task.sleep(for: .milliseconds(500))

        // The etcd leader dies; a route change goes through (retried, as its user would, only
        // after a clear error) and shows within a few seconds.
        let leader = try #require(try etcd.leader())
        etcd.members[leader].child.signal(SIGKILL)
        let first = try await Self.apply(ControlPlaneReplicaTests.route(v1: 0, v2: 100), through: both)
        // A try that failed said why, naming etcd (applying the same documents again is safe).
        #expect(first.failures.allSatisfy { $0.contains("etcd") }, "\(first.failures)")
        let firstShown = try await Self.shown(client, ["200 users-v2"])
        #expect(firstShown != nil && firstShown! < .seconds(5), "the change after the leader died showed in \(String(describing: firstShown))")
        let newLeader = try await Self.newLeader(etcd, not: leader)
        #expect(newLeader != leader)

        // Replica A dies; the next change goes through B and shows within a few seconds.
        a.child.signal(SIGKILL)
        _ = await a.child.waitForExit(timeout: .seconds(5))
        // Its sidecars (users-v1's and web's watched A) move to B first, so that resuming
        // without a resend is seen apart from the change that follows.
        for _ in 0..<50 where b.child.stderr.components(separatedBy: "watch resumed").count < 3 {
            try await Task.sleep(for: .milliseconds(100))
        }
        let second = try await Self.apply(ControlPlaneReplicaTests.route(v1: 100, v2: 0), through: both)
        #expect(second.failures.isEmpty, "\(second.failures)")
        let secondShown = try await Self.shown(client, ["200 users-v1"])
        #expect(secondShown != nil && secondShown! < .seconds(5), "the change after replica A died showed in \(String(describing: secondShown))")
        let outcome = await traffic.stop()
        #expect(outcome.sent >= 20, "requests flowed all along")
        #expect(outcome.failures.isEmpty, "requests failed: \(outcome.failures)")

        // No acknowledged write is lost: B and both surviving etcd members hold the last one.
        let route = try curl(["-s", "\(b.url)/v1/resources/HTTPRoute/users"]).output
        #expect(route.contains("weight: 100}, {name: users-v2, weight: 0}"), "\(route)")
        for index in etcd.members.indices where index != leader {
            let stored = try etcd.value("/heddle/resources/HTTPRoute/users", at: index) ?? ""
            #expect(stored.contains("weight: 100}, {name: users-v2, weight: 0}"), "member \(index): \(stored)")
        }
        // Every proxy converges on the latest version: connected to B, acknowledging what B
        // pushed last, all the same version.
        let converged = try await Self.converged(b, proxies: 3)
        #expect(converged.ok, "\(converged.proxies)")
        // The sidecars that watched A resumed at B from what they held, without a resend.
        let resumed = (userSidecars + [client]).filter { $0.child.stderr.contains("watch resumed") }
        let replicaSaid = b.child.stderr.split(separator: "\n").filter { $0.contains("watch resumed") }
        #expect(!resumed.isEmpty, "a sidecar resumed its watch: \(replicaSaid) \(client.child.stderr.suffix(3000))")
    }

    @Test func aReplicaCutOffFromEtcdStopsServingAndItsProxiesMoveToTheOther() async throws {
        let namespace = try NetworkNamespace()
        let etcd = try await EtcdCluster(members: 1, alsoOn: namespace.hostAddress)
        let a = try await ControlPlaneProcess(extra: ["--store", etcd.store()])
        // B runs in the namespace and reaches etcd over the veth pair; the sidecars reach it
        // there too (not from its own host, so the admin API is A's).
        let b = try await ControlPlaneProcess(
            address: "\(namespace.innerAddress):0", namespace: namespace, extra: ["--store", etcd.store(host: namespace.hostAddress)])
        defer { b.child.stop() }
        let v1 = try await Upstream(.http, name: "users-v1")
        let v2 = try await Upstream(.http, name: "users-v2")
        let web = try await Upstream(.http, name: "web")
        _ = try await SidecarProcess(controlPlane: "\(a.url),\(b.url)", service: "users-v1", appPort: v1.port, extra: ["--join-token", try joinToken(controlPlane: a.url, service: "users-v1")])
        _ = try await SidecarProcess(controlPlane: "\(b.url),\(a.url)", service: "users-v2", appPort: v2.port, extra: ["--join-token", try joinToken(controlPlane: a.url, service: "users-v2")])
        let client = try await SidecarProcess(controlPlane: "\(b.url),\(a.url)", service: "web", appPort: web.port, extra: ["--join-token", try joinToken(controlPlane: a.url, service: "web")])
        #expect(try await Self.apply(ControlPlaneReplicaTests.route(v1: 100, v2: 0), through: a.url).failures.isEmpty)
        #expect(try await ControlPlaneReplicaTests.eventually(client, ["200 users-v1"]), "B pushed A's write to web's sidecar")

        let traffic = Traffic(port: client.outbound)
        try namespace.cut(ports: etcd.members.map(\.clientPort))
        // B notices within seconds, refuses to serve what may be stale, and says why.
        var ready = ""
        for _ in 0..<150 {
            ready = try curl(["-s", "-w", " %{http_code}", "--max-time", "2", "\(b.url)/ready"]).output
            if ready.hasSuffix(" 503") { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(ready.hasSuffix(" 503") && ready.contains("has not reached its store") && ready.contains("may be stale"), "\(ready)")
        let watch = try curl(["-s", "-w", " %{http_code}", "--max-time", "3", "\(b.url)/v1/watch?proxy=probe"]).output
        #expect(watch.hasSuffix(" 503") && watch.contains("may be stale"), "\(watch)")
        let closing = try? await b.child.waitForOutput(timeout: .seconds(5)) { $0.contains("closing the watches, which would serve stale configuration") }
        #expect(closing != nil, "\(b.child.stderr.suffix(2000))")

        // Its proxies went to A: a change through A reaches web's sidecar, which watched B.
        #expect(try await Self.apply(ControlPlaneReplicaTests.route(v1: 0, v2: 100), through: a.url).failures.isEmpty)
        let shown = try await Self.shown(client, ["200 users-v2"], within: .seconds(20))
        #expect(shown != nil, "the change through A reached the sidecar that watched the cut-off B: \(client.child.stderr.suffix(2000))")
        // B's instances moved to A before B's etcd lease could run out and take them along.
        try await Task.sleep(for: .seconds(12))
        let instances = try curl(["-s", "\(a.url)/v1/instances"]).output
        #expect(["users-v1", "users-v2", "web"].allSatisfy { instances.contains("\"service\":\"\($0)\"") } && !instances.contains("\"unhealthy\""), "\(instances)")
        let outcome = await traffic.stop()
        #expect(outcome.failures.isEmpty, "requests failed during the partition: \(outcome.failures)")

        try namespace.heal()
        for _ in 0..<150 {
            ready = try curl(["-s", "-w", " %{http_code}", "--max-time", "2", "\(b.url)/ready"]).output
            if ready.hasSuffix(" 200") { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(ready.hasSuffix(" 200"), "B serves again once it reaches etcd: \(ready)")
        #expect(b.child.stderr.contains("the store answers again"), "\(b.child.stderr.suffix(2000))")
        let route = try curl(["-s", "\(b.url)/v1/resources/HTTPRoute/users"]).output
        #expect(route.contains("{name: users-v1, weight: 0}, {name: users-v2, weight: 100}"), "B caught up with what A wrote meanwhile: \(route)")
    }

    // MARK: - Helpers

    /// Two control planes on `store`, each with a data directory of its own: they share the
    /// certificate authority and join-token key through the store (docs/operations.md).
    static func replicas(store: String) async throws -> (ControlPlaneProcess, ControlPlaneProcess) {
        let a = try await ControlPlaneProcess(extra: ["--store", store])
        let b = try await ControlPlaneProcess(extra: ["--store", store])
        return (a, b)
    }

    /// `heddle apply` through the control planes `urls` until one acknowledges the write (at
    /// most 10 tries): the messages of the tries that failed.
    static func apply(_ yaml: String, through urls: String) async throws -> (failures: [String], acknowledged: Bool) {
        let file = "\(TestSupport.scratchDirectory())/apply-\(UUID().uuidString.prefix(8)).yaml"
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        var failures: [String] = []
        for _ in 0..<10 {
            let run = try ChildProcess(name: "apply-\(UUID().uuidString.prefix(6))", executable: TestSupport.heddleBinary, arguments: ["apply", "-f", file, "--control-plane", urls])
            guard let status = await run.waitForExit(timeout: .seconds(30)) else {
                run.stop()
                throw TestFailure("heddle apply did not finish")
            }
            if status == 0 { return (failures, true) }
            failures.append(run.stdout + run.stderr)
            try await Task.sleep(for: .milliseconds(200))
        }
        throw TestFailure("no control plane acknowledged the write: \(failures)")
    }

    /// How long until `client`'s sidecar answers `expected` for three requests in a row (nil
    /// when it does not within `within`).
    static func shown(_ client: SidecarProcess, _ expected: [String], within: Duration = .seconds(10)) async throws -> Duration? {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < within {
            if try Set(ControlPlaneTests.servedBy(client.outbound, host: "users", count: 3)) == Set(expected) { return ContinuousClock.now - start }
            try await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    static func newLeader(_ etcd: EtcdCluster, not old: Int) async throws -> Int? {
        for _ in 0..<100 {
            if let leader = try etcd.leader(), leader != old { return leader }
            try await Task.sleep(for: .milliseconds(100))
        }
        return nil
    }

    /// Whether `count` proxies watch `controlPlane` and each acknowledged, as accepted, the
    /// last version pushed to it, the same for all (within 10 s).
    static func converged(_ controlPlane: ControlPlaneProcess, proxies count: Int) async throws -> (ok: Bool, proxies: String) {
        var text = ""
        for _ in 0..<100 {
            text = try curl(["-s", "\(controlPlane.url)/v1/proxies"]).output
            if let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any],
               let items = object["items"] as? [[String: Any]] {
                let connected = items.filter { $0["connected"] as? Bool == true }
                let versions = Set(connected.compactMap { $0["pushedVersion"] as? Int })
                let settled = connected.allSatisfy { $0["accepted"] as? Bool == true && ($0["ackedVersion"] as? Int) == ($0["pushedVersion"] as? Int) }
                if connected.count == count, versions.count == 1, settled { return (true, text) }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return (false, text)
    }
}

/// Requests through a sidecar every 20 ms, each a curl child process, until stopped: how many
/// were sent and what every failed one answered. On a thread of its own: a test pool busy with
/// other suites' waits must not starve the traffic the test is about.
final class Traffic: @unchecked Sendable {
    private struct State {
        var sent = 0
        var failures: [String] = []
        var stopping = false
        var done = false
    }

    private let state = Mutex(State())

    init(port: Int, host: String = "users") {
        let thread = Thread { [self] in
            while !state.withLock({ $0.stopping }), state.withLock({ $0.sent }) < 3000 {
                let answer = (try? curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: \(host)", "http://127.0.0.1:\(port)/hello"], timeout: 10).output) ?? "curl failed"
                state.withLock { state in
                    state.sent += 1
                    if answer != "200" { state.failures.append(answer) }
                }
                usleep(20_000)
            }
            state.withLock { $0.done = true }
        }
        thread.start()
    }

    func stop() async -> (sent: Int, failures: [String]) {
        state.withLock { $0.stopping = true }
        while !state.withLock({ $0.done }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return state.withLock { ($0.sent, $0.failures) }
    }
}
