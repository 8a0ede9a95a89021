import Foundation
import Testing
import Synchronization

/// `heddle control-plane --store etcd://...` through the real binary, on a real etcd: the mesh
/// works as on SQLite, its state outlives the control plane, and a store it cannot reach or a
/// resource etcd cannot take is refused with the reason.
@Suite(.serialized)
struct EtcdStoreTests {
    @Test func aControlPlaneOnEtcdRunsTheMeshAndItsStateOutlivesIt() async throws {
        let etcd = try await EtcdCluster(members: 1)
        let cp = try await ControlPlaneProcess(extra: ["--store", etcd.store()])
        #expect(cp.child.stderr.contains("etcd=http://127.0.0.1:\(etcd.members[0].clientPort)"), "\(cp.child.stderr)")
        let v1 = try await Upstream(.http, name: "users-v1")
        let v2 = try await Upstream(.http, name: "users-v2")
        let web = try await Upstream(.http, name: "web")
        _ = try await SidecarProcess(controlPlane: cp.url, service: "users-v1", appPort: v1.port)
        _ = try await SidecarProcess(controlPlane: cp.url, service: "users-v2", appPort: v2.port)
        let client = try await SidecarProcess(controlPlane: cp.url, service: "web", appPort: web.port)
        let applied = try await cp.apply(ControlPlaneReplicaTests.route(v1: 0, v2: 100))
        #expect(applied.status == 0, "\(applied.output)")
        var served: [String] = []
        for _ in 0..<50 {
            served = try ControlPlaneTests.servedBy(client.outbound, host: "users", count: 3)
            if served == Array(repeating: "200 users-v2", count: 3) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(served == Array(repeating: "200 users-v2", count: 3), "the route from etcd reached the sidecar: \(cp.child.stderr.suffix(2000))")

        // The resources and the registry are in etcd, under /heddle/.
        let keys = try curl(["-s", "http://127.0.0.1:\(etcd.members[0].clientPort)/v3/kv/range", "-d", #"{"key":"L2hlZGRsZS8=","range_end":"L2hlZGRsZTA=","keys_only":true}"#]).output
        #expect(keys.contains(Data("/heddle/resources/HTTPRoute/users".utf8).base64EncodedString()), "\(keys)")

        // Killed and started again (same data directory, same CA): everything is still there.
        cp.child.signal(SIGKILL)
        _ = await cp.child.waitForExit(timeout: .seconds(5))
        let restarted = try await ControlPlaneProcess(dataDir: cp.dataDir, extra: ["--store", etcd.store()])
        let routes = try await restarted.cli(["get", "HTTPRoute"])
        #expect(routes.output.contains("users"), "\(routes.output)")
        let instances = try curl(["-s", "\(restarted.url)/v1/instances"]).output
        for service in ["users-v1", "users-v2", "web"] {
            #expect(instances.contains("\"service\":\"\(service)\""), "\(service) is still registered: \(instances)")
        }

        // A resource larger than etcd takes in one request is refused, saying so.
        let big = "apiVersion: heddle.dev/v1alpha1\nkind: Service\nmetadata:\n  name: big\n  labels: {padding: \"\(String(repeating: "x", count: 1_600_000))\"}\nspec:\n  endpoints: []\n"
        let file = "\(TestSupport.scratchDirectory())/big.yaml"
        try big.write(toFile: file, atomically: true, encoding: .utf8)
        let refused = try await restarted.cli(["apply", "-f", file])
        #expect(refused.status != 0 && refused.output.contains("split it into smaller resources"), "\(refused.output.prefix(600))")
    }

    @Test func aControlPlaneWhoseEtcdIsUnreachableStopsAndSaysWhere() async throws {
        let port = try TestSupport.freePort()
        let cp = try ChildProcess(
            name: "cp-no-etcd", executable: TestSupport.heddleBinary,
            arguments: ["control-plane", "--data-dir", "\(TestSupport.scratchDirectory())/cp-no-etcd", "--address", "127.0.0.1:0", "--store", "etcd://127.0.0.1:\(port)"])
        #expect(await cp.waitForExit(timeout: .seconds(30)) == 1)
        #expect(cp.stderr.contains("cannot open the control plane's store: no etcd member answered") && cp.stderr.contains("127.0.0.1:\(port)"), "\(cp.stderr)")

        let bad = try ChildProcess(name: "cp-bad-store", executable: TestSupport.heddleBinary, arguments: ["control-plane", "--store", "etcd://nohost"])
        #expect(await bad.waitForExit(timeout: .seconds(30)) != 0)
        #expect(bad.stderr.contains("etcd member 'nohost' is not host:port"), "\(bad.stderr)")
    }

    @Test func storeMigrateCopiesASQLiteControlPlaneIntoEtcd() async throws {
        let etcd = try await EtcdCluster(members: 1)
        let cp = try await ControlPlaneProcess()
        let applied = try await cp.apply("""
            apiVersion: heddle.dev/v1alpha1
            kind: Service
            metadata: {name: users}
            spec: {endpoints: [{address: "10.0.0.7:8080"}]}
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: users}
            spec:
              hostnames: [users]
              rules: [{backendRefs: [{name: users}]}]
            """)
        #expect(applied.status == 0, "\(applied.output)")
        let registered = try curl(["-s", "-H", "Content-Type: application/json", "-d", #"{"service":"api","address":"127.0.0.1","port":9000,"protocol":"http1","labels":{"zone":"a"},"weight":3,"leaseSeconds":30}"#, "\(cp.url)/v1/instances"]).output
        #expect(registered.contains("\"service\":\"api\""), "\(registered)")

        // While the control plane runs, its SQLite store is locked: migrate refuses.
        let busy = try ChildProcess(name: "migrate-busy", executable: TestSupport.heddleBinary, arguments: ["store", "migrate", "--from", "sqlite:\(cp.dataDir)", "--to", etcd.store()])
        #expect(await busy.waitForExit(timeout: .seconds(30)) == 1)
        #expect(busy.stderr.contains("in use by another control plane"), "\(busy.stderr)")

        let caBefore = try curl(["-s", "\(cp.url)/v1/ca"]).output
        cp.child.signal(SIGTERM)
        _ = await cp.child.waitForExit(timeout: .seconds(10))
        let migrate = try ChildProcess(name: "migrate", executable: TestSupport.heddleBinary, arguments: ["store", "migrate", "--from", "sqlite:\(cp.dataDir)", "--to", etcd.store()])
        #expect(await migrate.waitForExit(timeout: .seconds(30)) == 0, "\(migrate.stderr)")
        #expect(migrate.stdout.hasPrefix("copied 2 resources and 1 instances from sqlite:\(cp.dataDir) to \(etcd.store())"), "\(migrate.stdout)")

        #expect(migrate.stdout.contains("; the certificate authority and join-token key too"), "\(migrate.stdout)")

        // The same data directory (its admin token), now on etcd, and a new replica beside it:
        // both sign with the CA the SQLite control plane made, now kept in etcd.
        let onEtcd = try await ControlPlaneProcess(dataDir: cp.dataDir, extra: ["--store", etcd.store()])
        let replica = try await ControlPlaneProcess(extra: ["--store", etcd.store()])
        let migratedCA = try curl(["-s", "\(onEtcd.url)/v1/ca"]).output
        let replicaCA = try curl(["-s", "\(replica.url)/v1/ca"]).output
        #expect(migratedCA == caBefore && replicaCA == caBefore, "\(caBefore) \(migratedCA) \(replicaCA)")
        replica.child.signal(SIGTERM)
        let routes = try await onEtcd.cli(["get", "HTTPRoute", "users", "-o", "yaml"])
        #expect(routes.output.contains("backendRefs"), "\(routes.output)")
        let instances = try curl(["-s", "\(onEtcd.url)/v1/instances?service=api"]).output
        #expect(instances.contains("\"port\":9000") && instances.contains("\"weight\":3") && instances.contains("\"zone\":\"a\""), "\(instances)")

        // A second run finds the destination in use; a source that is not a store is named.
        onEtcd.child.signal(SIGTERM)
        _ = await onEtcd.child.waitForExit(timeout: .seconds(10))
        let again = try ChildProcess(name: "migrate-again", executable: TestSupport.heddleBinary, arguments: ["store", "migrate", "--from", "sqlite:\(cp.dataDir)", "--to", etcd.store()])
        #expect(await again.waitForExit(timeout: .seconds(30)) == 1)
        #expect(again.stderr.contains("the destination already holds 2 resources and 1 instances"), "\(again.stderr)")
        let missing = try ChildProcess(name: "migrate-missing", executable: TestSupport.heddleBinary, arguments: ["store", "migrate", "--from", "sqlite:/nonexistent/heddle", "--to", etcd.store()])
        #expect(await missing.waitForExit(timeout: .seconds(30)) == 1)
        #expect(missing.stderr.contains("/nonexistent/heddle holds no control plane store"), "\(missing.stderr)")
    }
}

/// Two control-plane replicas on one etcd: writes through either reach the proxies of both,
/// a replica's death costs no request (its sidecars move to the other, which takes their
/// instances over), and a replica cut off from etcd stops serving watches and says so.
@Suite(.serialized)
struct ControlPlaneReplicaTests {
    @Test func twoReplicasAgreeSurviveTheLossOfOneAndStopServingWhenCutOffFromEtcd() async throws {
        let etcd = try await EtcdCluster(members: 1)
        // The replicas share the certificate authority and join-token key through etcd.
        let (a, b) = try await HighAvailabilityTests.replicas(store: etcd.store())

        let v1 = try await Upstream(.http, name: "users-v1")
        let v2 = try await Upstream(.http, name: "users-v2")
        let web = try await Upstream(.http, name: "web")
        // users-v1's and users-v2's sidecars talk to A first, web's to B first.
        // A join token from either replica is good at both.
        _ = try await SidecarProcess(
            controlPlane: "\(a.url),\(b.url)", service: "users-v1", appPort: v1.port, extra: ["--join-token", try joinToken(controlPlane: a.url, service: "users-v1")])
        _ = try await SidecarProcess(
            controlPlane: "\(a.url),\(b.url)", service: "users-v2", appPort: v2.port, extra: ["--join-token", try joinToken(controlPlane: b.url, service: "users-v2")])
        let client = try await SidecarProcess(
            controlPlane: "\(b.url),\(a.url)", service: "web", appPort: web.port, extra: ["--join-token", try joinToken(controlPlane: a.url, service: "web")])

        // Applied through A, pushed by B to web's sidecar.
        let applied = try await a.apply(Self.route(v1: 100, v2: 0))
        #expect(applied.status == 0, "\(applied.output)")
        #expect(try await Self.eventually(client, ["200 users-v1"]), "B followed A's write")
        let services = try curl(["-s", "\(b.url)/v1/services"]).output
        #expect(services.contains("\"name\":\"users-v1\"") && services.contains("\"name\":\"web\""), "\(services)")

        // Traffic all along; A dies; the route changes through B; no request fails.
        let failures = Mutex<[String]>([])
        let sent = Mutex(0)
        let traffic = Task.detached {
            for _ in 0..<400 where !Task.isCancelled {
                let answer = (try? curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: users", "http://127.0.0.1:\(client.outbound)/hello"]).output) ?? "curl failed"
                sent.withLock { $0 += 1 }
                if answer != "200" { failures.withLock { $0.append(answer) } }
                try? await Task.sleep(for: .milliseconds(25))
            }
        }
        try await Task.sleep(for: .seconds(1))
        a.child.signal(SIGKILL)
        _ = await a.child.waitForExit(timeout: .seconds(5))
        try await Task.sleep(for: .seconds(2))
        let moved = try await b.apply(Self.route(v1: 0, v2: 100))
        #expect(moved.status == 0, "\(moved.output)")
        #expect(try await Self.eventually(client, ["200 users-v2"]), "the change through B reached web's sidecar")
        // The sidecars that talked to A now heartbeat B, which took their instances over.
        let instances = try curl(["-s", "\(b.url)/v1/instances"]).output
        #expect(!instances.contains("\"unhealthy\""), "\(instances)")
        #expect(b.child.stderr.contains("instance taken over from another control plane"), "\(b.child.stderr.suffix(2000))")
        traffic.cancel()
        _ = await traffic.value
        #expect(sent.withLock { $0 } >= 5, "requests flowed while a replica died")
        #expect(failures.withLock { $0 }.isEmpty, "requests failed while a replica died: \(failures.withLock { $0 })")

        // etcd goes away: B stops serving watches (its configuration may be stale) and says so;
        // the sidecars keep serving what they have.
        etcd.members[0].child.signal(SIGSTOP)
        var ready = ""
        for _ in 0..<100 {
            ready = try curl(["-s", "-w", " %{http_code}", "\(b.url)/ready"]).output
            if ready.hasSuffix(" 503") { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(ready.hasSuffix(" 503") && ready.contains("has not reached its store"), "\(ready)")
        let watch = try curl(["-s", "-w", " %{http_code}", "--max-time", "3", "\(b.url)/v1/watch?proxy=probe"]).output
        #expect(watch.hasSuffix(" 503") && watch.contains("may be stale"), "\(watch)")
        #expect(try ControlPlaneTests.servedBy(client.outbound, host: "users", count: 3) == Array(repeating: "200 users-v2", count: 3))
        etcd.members[0].child.signal(SIGCONT)
        for _ in 0..<100 {
            ready = try curl(["-s", "-w", " %{http_code}", "\(b.url)/ready"]).output
            if ready.hasSuffix(" 200") { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(ready.hasSuffix(" 200"), "B serves again once etcd answers: \(ready)")
        #expect(b.child.stderr.contains("the store answers again"), "\(b.child.stderr.suffix(2000))")
    }

    @Test func replicasShareTheirCertificateAuthorityThroughEtcdAndFollowARotationRunAtEither() async throws {
        let etcd = try await EtcdCluster(members: 1)
        let (a, b) = try await HighAvailabilityTests.replicas(store: etcd.store())
        let signerA = try curl(["-s", "\(a.url)/v1/ca"]).output
        let signerB = try curl(["-s", "\(b.url)/v1/ca"]).output
        #expect(signerA == signerB && signerA.contains("\"rotation\":\"steady\""), "one CA for both, from etcd: \(signerA) \(signerB)")
        // B's data directory holds no CA of its own: the CA is in etcd, under /heddle/identity.
        #expect(!FileManager.default.fileExists(atPath: "\(b.dataDir)/identity/ca-key.pem"))
        let key = try curl(["-s", "http://127.0.0.1:\(etcd.members[0].clientPort)/v3/kv/range", "-d", "{\"key\":\"\(Data("/heddle/identity".utf8).base64EncodedString())\",\"count_only\":true}"]).output
        #expect(key.contains("\"count\":\"1\""), "\(key)")

        // Each phase through one replica; the other follows within a few seconds.
        let steps: [(phase: String, through: ControlPlaneProcess, other: ControlPlaneProcess, stands: String)] = [
            ("prepare", a, b, "rotation: prepared"), ("activate", b, a, "rotation: activated"), ("finish", a, b, "rotation: steady"),
        ]
        for step in steps {
            let run = try await step.through.cli(["ca", "rotate", step.phase])
            #expect(run.status == 0 && run.output.contains(step.stands), "\(step.phase): \(run.output)")
            var seen = ""
            for _ in 0..<50 {
                seen = try await step.other.cli(["ca", "status"]).output
                if seen.contains(step.stands) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(seen.contains(step.stands), "the other replica follows \(step.phase): \(seen)")
        }
        let rotatedA = try curl(["-s", "\(a.url)/v1/ca"]).output
        let rotatedB = try curl(["-s", "\(b.url)/v1/ca"]).output
        #expect(rotatedA == rotatedB && rotatedA != signerA, "both sign with the new root: \(rotatedA) \(rotatedB)")
    }

    static func route(v1: Int, v2: Int) -> String {
        """
        apiVersion: heddle.dev/v1alpha1
        kind: Service
        metadata: {name: users-v1}
        spec: {endpoints: []}
        ---
        apiVersion: heddle.dev/v1alpha1
        kind: Service
        metadata: {name: users-v2}
        spec: {endpoints: []}
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: users}
        spec:
          hostnames: [users]
          rules:
            - backendRefs: [{name: users-v1, weight: \(v1)}, {name: users-v2, weight: \(v2)}]
        """
    }

    /// Whether `client`'s sidecar answers `expected` for three requests to `users` within 10 s.
    static func eventually(_ client: SidecarProcess, _ expected: [String]) async throws -> Bool {
        for _ in 0..<100 {
            if try Set(ControlPlaneTests.servedBy(client.outbound, host: "users", count: 3)) == Set(expected) { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }
}
