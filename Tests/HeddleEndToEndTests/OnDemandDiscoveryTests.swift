import Foundation
import Testing

/// `heddle proxy --learn-calls`: a sidecar is pushed only what its app calls, learned on the
/// first request to each service (which waits for its configuration), over HTTP/1.1 and
/// HTTP/2; a name the mesh does not have is a clear no-route at once.
@Suite(.serialized)
struct OnDemandDiscoveryTests {
    @Test func aSidecarLearnsWhatItsAppCallsOnTheFirstRequest() async throws {
        let cp = try await ControlPlaneProcess()
        let users = try await Upstream(.http, name: "users-v1")
        let other = try await Upstream(.http, name: "other")
        let web = try await Upstream(.http, name: "web")
        _ = try await SidecarProcess(controlPlane: cp.url, service: "users-v1", appPort: users.port)
        _ = try await SidecarProcess(controlPlane: cp.url, service: "other", appPort: other.port)
        // A route may send to a service known only by its registered instances: accepted, with a
        // warning that no Service resource declares it.
        let route = try await cp.apply("""
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: users}
            spec:
              hostnames: [users]
              rules:
                - backendRefs: [{name: users-v1}]
            """)
        #expect(route.status == 0, "\(route.output)")
        #expect(route.output.contains("warning: spec.rules[0].backendRefs[0].name: service 'users-v1' is not declared"), "\(route.output)")
        let client = try await SidecarProcess(controlPlane: cp.url, service: "web", appPort: web.port, extra: ["--learn-calls"])
        #expect(!(try String(contentsOfFile: client.snapshot, encoding: .utf8)).contains("# resource:"), "a learning sidecar starts with nothing")

        // The first request to a route's hostname waits for it and its backends, then goes.
        #expect(try ControlPlaneTests.servedBy(client.outbound, host: "users", count: 1) == ["200 users-v1"])
        #expect(try ControlPlaneTests.servedBy(client.outbound, host: "users", count: 2) == ["200 users-v1", "200 users-v1"])
        // Over HTTP/2 too, to a service by its name.
        let h2 = try curl([
            "--http2-prior-knowledge", "-o", "/dev/null", "-H", "Host: other", "-w", "%{http_version} %{http_code} %header{x-served-by}", "http://127.0.0.1:\(client.outbound)/hello",
        ]).output
        #expect(h2 == "2 200 other", "\(h2)")

        // A name the mesh does not have: a no-route that says so, at once the second time.
        for _ in 0..<2 {
            let missing = try curl(["-D", "-", "-H", "Host: nosuch", "http://127.0.0.1:\(client.outbound)/hello"]).output
            #expect(missing.hasPrefix("HTTP/1.1 404") && missing.lowercased().contains("heddle-error: no-route"), "\(missing)")
            #expect(missing.contains("the control plane has no service or route named 'nosuch'"), "\(missing)")
        }

        // What the sidecar holds is what its app called, nothing else — and it is kept for the
        // next start (written just after the configuration goes into force).
        var kept = ""
        for _ in 0..<100 {
            kept = (try? String(contentsOfFile: client.snapshot, encoding: .utf8)) ?? ""
            if kept.contains("# calls: other,users\n"), kept.contains("# resource: Service/other") { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(kept.contains("# calls: other,users\n") && kept.contains("# resource: Service/users-v1") && kept.contains("# resource: HTTPRoute/users"), "\(kept)")
        #expect(kept.contains("# resource: Service/other") && !kept.contains("Service/web"), "\(kept)")
        #expect(client.child.stderr.contains("learned services the app calls"), "\(client.child.stderr.suffix(2000))")
        #expect(cp.child.stderr.contains("proxy learned calls"), "\(cp.child.stderr.suffix(2000))")

        // A learning sidecar stops on SIGTERM like any other.
        client.child.signal(SIGTERM)
        #expect(await client.child.waitForExit(timeout: .seconds(15)) == 0, "\(client.child.stderr.suffix(1500))")
    }

    @Test func aSidecarForgetsAServiceItsAppStoppedCallingAndLearnsItAgainWhenCalled() async throws {
        let cp = try await ControlPlaneProcess()
        let users = try await Upstream(.http, name: "users")
        let orders = try await Upstream(.http, name: "orders")
        let web = try await Upstream(.http, name: "web")
        _ = try await SidecarProcess(controlPlane: cp.url, service: "users", appPort: users.port)
        _ = try await SidecarProcess(controlPlane: cp.url, service: "orders", appPort: orders.port)
        let client = try await SidecarProcess(
            controlPlane: cp.url, service: "web", appPort: web.port, extra: ["--learn-calls", "--forget-calls-after", "3"])
        #expect(try ControlPlaneTests.servedBy(client.outbound, host: "users", count: 1) == ["200 users"])
        #expect(try ControlPlaneTests.servedBy(client.outbound, host: "orders", count: 1) == ["200 orders"])

        // orders is called all along; users is not called again: after 3 s it is forgotten —
        // out of the watch, the proxy's configuration and the kept snapshot.
        var kept = ""
        for _ in 0..<40 {
            #expect(try ControlPlaneTests.servedBy(client.outbound, host: "orders", count: 1) == ["200 orders"])
            kept = (try? String(contentsOfFile: client.snapshot, encoding: .utf8)) ?? ""
            if kept.contains("# calls: orders\n"), !kept.contains("Service/users") { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(kept.contains("# calls: orders\n") && kept.contains("# resource: Service/orders") && !kept.contains("Service/users"), "\(kept)")
        #expect(client.child.stderr.contains("forgot services the app no longer calls") && client.child.stderr.contains("services=[\"users\"]"), "\(client.child.stderr.suffix(2000))")
        #expect(cp.child.stderr.contains("proxy forgot calls"), "\(cp.child.stderr.suffix(2000))")
        let config = try curl(["-s", "http://127.0.0.1:\(client.admin)/config"]).output
        #expect(config.contains("\"orders\"") && !config.contains("\"users\""), "\(config.prefix(1500))")

        // The next request for users learns it again and is served.
        #expect(try ControlPlaneTests.servedBy(client.outbound, host: "users", count: 1) == ["200 users"])
        client.child.signal(SIGTERM)
        #expect(await client.child.waitForExit(timeout: .seconds(15)) == 0, "\(client.child.stderr.suffix(1500))")
    }
}
