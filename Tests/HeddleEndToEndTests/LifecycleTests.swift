import Foundation
import Testing

/// Admin endpoints, config validation, reloads, draining on SIGTERM, the access log and the
/// inbound listener, through the real binary.
@Suite(.serialized)
struct LifecycleTests {
    @Test func adminEndpointsReportLivenessReadinessMetricsAndConfig() async throws {
        let app = try await Upstream(.http, name: "admin")
        let proxy = try await HeddleProxyProcess(config: Config.proxy() + Config.service("web", [app.address]))
        let admin = "http://127.0.0.1:\(proxy.admin)"
        _ = try curl(["-H", "Host: web", "http://127.0.0.1:\(proxy.outbound)/hello"])
        #expect(try curl(["-w", " %{http_code}", "\(admin)/live"]).output == "live\n 200")
        #expect(try curl(["-w", " %{http_code}", "\(admin)/ready"]).output == "ready\n 200")
        let metrics = try curl(["\(admin)/metrics"]).output
        #expect(metrics.contains("heddle_requests_total{listener=\"outbound\",route=\"web#0\",backend=\"web\",status_class=\"2xx\"} 1"))
        #expect(metrics.contains("heddle_request_duration_seconds_bucket{listener=\"outbound\",route=\"web#0\",backend=\"web\""))
        let config = try curl(["\(admin)/config"]).output
        let json = try JSONSerialization.jsonObject(with: Data(config.utf8)) as? [String: Any]
        #expect(json?["generation"] as? Int == 1)
        let services = (json?["config"] as? [String: Any])?["services"] as? [String: Any]
        #expect(services?["web"] != nil)
    }

    @Test func checkValidatesWithFieldPaths() async throws {
        let directory = TestSupport.scratchDirectory()
        let good = "\(directory)/check-good.yaml"
        let bad = "\(directory)/check-bad.yaml"
        try (Config.proxy() + Config.service("web", ["127.0.0.1:9"])).write(toFile: good, atomically: true, encoding: .utf8)
        try (Config.proxy() + Config.service("web", ["127.0.0.1:9"]) + Config.route("r", """
            rules:
              - backendRefs:
                  - name: web
                  - name: web
                    weight: -1
            """)).write(toFile: bad, atomically: true, encoding: .utf8)
        let valid = try ChildProcess(name: "check-good", executable: TestSupport.heddleBinary, arguments: ["proxy", "--check", "--config", good])
        #expect(await valid.waitForExit(timeout: .seconds(20)) == 0)
        #expect(valid.stdout.contains("valid"))
        let invalid = try ChildProcess(name: "check-bad", executable: TestSupport.heddleBinary, arguments: ["proxy", "--check", "--config", bad])
        #expect(await invalid.waitForExit(timeout: .seconds(20)) == 1)
        #expect(invalid.stderr.contains("spec.rules[0].backendRefs[1].weight: must be"), "\(invalid.stderr)")
    }

    @Test func reloadUnderLoadDropsNothingAndInvalidFilesAreRefused() async throws {
        guard let wrk = TestSupport.which("wrk") else { throw TestFailure("wrk is required (apt-get install wrk)") }
        let one = try await Upstream(.http, name: "one")
        let two = try await Upstream(.http, name: "two")
        func config(_ weightOne: Int, _ weightTwo: Int) -> String {
            Config.proxy() + Config.service("one", [one.address]) + Config.service("two", [two.address]) + Config.route("app", """
                hostnames: [app]
                rules:
                  - backendRefs:
                      - name: one
                        weight: \(weightOne)
                      - name: two
                        weight: \(weightTwo)
                """)
        }
        let proxy = try await HeddleProxyProcess(config: config(100, 0))
        let load = try ChildProcess(name: "wrk-reload", executable: wrk, arguments: ["-t1", "-c8", "-d4s", "-H", "Host: app", "http://127.0.0.1:\(proxy.outbound)/hello"])
        try await Task.sleep(for: .milliseconds(800))
        try proxy.rewriteConfig(config(0, 100))
        try await Task.sleep(for: .milliseconds(1500))
        proxy.child.signal(SIGHUP)
        _ = await load.waitForExit(timeout: .seconds(20))
        let report = load.stdout
        #expect(report.contains("requests in"), "\(report)")
        #expect(!report.contains("Non-2xx"), "\(report)")
        #expect(!report.contains("Socket errors"), "\(report)")
        // The second config is in force.
        #expect(try curl(["-H", "Host: app", "http://127.0.0.1:\(proxy.outbound)/hello"]).output == "hello from two\n")

        // An invalid file is refused, logged with its field path, and the old config stays.
        try proxy.rewriteConfig(config(100, 0).replacingOccurrences(of: "weight: 0", with: "weight: -5"))
        _ = try await proxy.child.waitForOutput { $0.contains("configuration refused") }
        #expect(proxy.child.stderr.contains("spec.rules[0].backendRefs[1].weight"))
        #expect(try curl(["-H", "Host: app", "http://127.0.0.1:\(proxy.outbound)/hello"]).output == "hello from two\n")
        let metrics = try curl(["http://127.0.0.1:\(proxy.admin)/metrics"]).output
        #expect(metrics.contains("heddle_config_reloads_total{result=\"refused\"} 1"))
    }

    @Test func sigtermDrainsInFlightRequestsThenExitsZero() async throws {
        let app = try await Upstream(.http, name: "drain")
        let proxy = try await HeddleProxyProcess(config: Config.proxy("drainGracePeriod: 10s") + Config.service("app", [app.address]))
        let port = proxy.outbound
        let results = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<5 {
                group.addTask {
                    try curl(["-H", "Host: app", "-w", " %{http_code}", "http://127.0.0.1:\(port)/slow/1500"]).output
                }
            }
            // SIGTERM only once all five requests are in flight.
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline {
                let metrics = (try? curl(["http://127.0.0.1:\(proxy.admin)/metrics"]).output) ?? ""
                if metrics.contains("heddle_downstream_connections 5.0") { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            proxy.child.signal(SIGTERM)
            var outputs: [String] = []
            for try await output in group { outputs.append(output) }
            return outputs
        }
        #expect(results == Array(repeating: "slow from drain\n 200", count: 5))
        #expect(await proxy.child.waitForExit(timeout: .seconds(15)) == 0)
    }

    @Test func accessLogWritesOneJSONLinePerRequest() async throws {
        let app = try await Upstream(.http, name: "logged")
        let proxy = try await HeddleProxyProcess(config: Config.proxy(accessLog: "mode: full") + Config.service("web", [app.address]))
        _ = try curl(["-H", "Host: web", "http://127.0.0.1:\(proxy.outbound)/hello?x=1"])
        _ = try curl(["-H", "Host: nowhere", "http://127.0.0.1:\(proxy.outbound)/"])
        let output = try await proxy.child.waitForOutput { $0.contains("\"heddle_error\":\"no-route\"") }
        let lines = output.split(separator: "\n").filter { $0.hasPrefix("{") }
        #expect(lines.count == 2)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        #expect(first?["status"] as? Int == 200)
        #expect(first?["target"] as? String == "/hello?x=1")
        #expect(first?["backend"] as? String == "web")
        #expect(first?["endpoint"] as? String == app.address)
        #expect(first?["heddle_error"] is NSNull)
        let second = try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any]
        #expect(second?["status"] as? Int == 404)
    }

    @Test func inboundListenerForwardsToTheLocalApp() async throws {
        let app = try await Upstream(.http, name: "local-app")
        let proxy = try await HeddleProxyProcess(
            config: Config.proxy(inbound: "address: 127.0.0.1:0\nappAddress: \(app.address)"),
            expectListeners: ["outbound", "inbound", "admin"])
        let inbound = proxy.ports["inbound"] ?? 0
        #expect(try curl(["http://127.0.0.1:\(inbound)/hello"]).output == "hello from local-app\n")
        #expect(try curl(["-H", "Host: anything", "http://127.0.0.1:\(inbound)/hello"]).output == "hello from local-app\n")
    }

    @Test func theInboundListenerNeitherRetriesNorEjectsItsApp() async throws {
        let app = try await Upstream(.http, name: "failing-app")
        let proxy = try await HeddleProxyProcess(
            config: Config.proxy(inbound: "address: 127.0.0.1:0\nappAddress: \(app.address)"),
            expectListeners: ["outbound", "inbound", "admin"])
        let inbound = proxy.ports["inbound"] ?? 0
        // Ten 503s from the app reach the caller as they are, each sent to the app once: the
        // caller's sidecar retries (elsewhere), not this one.
        for _ in 0..<10 {
            #expect(try curl(["-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(inbound)/status/503"]).output == "503")
        }
        #expect(try curl(["http://127.0.0.1:\(app.port)/stats"]).output.trimmingCharacters(in: .whitespacesAndNewlines) == "10")
        let metrics = try curl(["http://127.0.0.1:\(proxy.admin)/metrics"]).output
        #expect(!metrics.contains("heddle_retries_total{") && !metrics.contains("heddle_outlier_ejections_total{"), "\(metrics)")
    }
}

/// The configurations in `examples/` are the ones the documentation points to: each must be
/// valid for `heddle proxy --check`.
@Suite
struct ExampleConfigTests {
    @Test(arguments: ["basic.yaml", "canary.yaml", "gateway.yaml", "health-checks.yaml", "mesh-client.yaml", "mesh-server.yaml"])
    func exampleIsValid(file: String) async throws {
        let path = "\(TestSupport.packageRoot)/examples/\(file)"
        let check = try ChildProcess(name: "check-\(file)", executable: TestSupport.heddleBinary, arguments: ["proxy", "--check", "--config", path])
        #expect(await check.waitForExit(timeout: .seconds(20)) == 0, "\(check.stderr)")
        #expect(check.stdout.contains("valid"))
    }

    @Test func canaryExampleServesItsRoutes() async throws {
        let v1 = try await Upstream(.http, name: "shop-v1")
        let v2 = try await Upstream(.http, name: "shop-v2")
        var yaml = try String(contentsOfFile: "\(TestSupport.packageRoot)/examples/canary.yaml", encoding: .utf8)
        yaml = yaml.replacingOccurrences(of: "127.0.0.1:4140", with: "127.0.0.1:0")
            .replacingOccurrences(of: "127.0.0.1:4191", with: "127.0.0.1:0")
            .replacingOccurrences(of: "127.0.0.1:8081", with: v1.address)
            .replacingOccurrences(of: "    - address: 127.0.0.1:8082\n", with: "")
            .replacingOccurrences(of: "127.0.0.1:8083", with: v2.address)
        let proxy = try await HeddleProxyProcess(config: yaml)
        let base = "http://127.0.0.1:\(proxy.outbound)"
        #expect(try curl(["-H", "Host: shop", "-H", "x-canary: always", "\(base)/hello"]).output == "hello from shop-v2\n")
        let api = try curl(["-i", "-x", base, "http://shop.example.com/api/v1/hello"]).output
        #expect(api.contains("hello from shop-v1"))
        #expect(api.lowercased().contains("x-route: shop-api-v1"))
    }
}
