import Foundation
import Testing

/// Active health checks through the real binary: an instance that stops answering is taken out
/// before any request meets it and comes back once it answers again; a TCP check takes out a
/// closed port; an `http` check on an HTTP/2 service speaks HTTP/2; and the proxy still exits
/// cleanly on SIGTERM with probes in flight.
@Suite(.serialized)
struct HealthCheckTests {
    static let fastCheck = "interval: 200ms, timeout: 150ms, healthyThreshold: 2, unhealthyThreshold: 2"

    /// A loopback port nothing listens on: bound by the kernel's choice, then released.
    static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw TestFailure("cannot bind a loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    @Test func theDocumentedExampleIsTheExampleFile() throws {
        let yaml = try String(contentsOfFile: "\(TestSupport.packageRoot)/examples/health-checks.yaml", encoding: .utf8)
        let doc = try String(contentsOfFile: "\(TestSupport.packageRoot)/docs/resilience.md", encoding: .utf8)
        #expect(doc.contains("```yaml\n" + yaml + "```\n"), "docs/resilience.md's health check example differs from examples/health-checks.yaml")
    }

    @Test func anInstanceThatStopsAnsweringIsTakenOutBeforeAnyRequestMeetsItAndComesBack() async throws {
        let apps = [try await Upstream(.http, name: "a"), try await Upstream(.http, name: "b")]
        // Round robin would give the stopped instance every other request, and without a
        // per-try timeout nothing would rescue one that reached it: only the check keeps it out.
        let config = Config.proxy() + Config.service("web", apps.map(\.address), extra: """
            loadBalancer: {policy: round-robin}
            healthCheck: {http: {path: /hello}, \(Self.fastCheck)}
            """)
        let proxy = try await HeddleProxyProcess(config: config)
        apps[1].child.signal(SIGSTOP)
        defer { apps[1].child.signal(SIGCONT) }
        try await Task.sleep(for: .seconds(1))
        let stopped = try await ResilienceTests.load(proxy.outbound, host: "web", seconds: 20, connections: 2, rate: 100, count: 200)
        #expect(stopped["exceptions"] as? Int == 0, "\(stopped)")
        #expect((stopped["statuses"] as? [String: Int])?.keys.sorted() == ["200"], "\(stopped)")
        let total = try #require(stopped["total"] as? Int)
        #expect(total == 200, "\(stopped)")
        #expect(stopped["served"] as? [String: Int] == ["a": total], "\(stopped)")
        var metrics = try ResilienceTests.metrics(proxy)
        #expect(ResilienceTests.value(metrics, #"heddle_endpoints_unhealthy{service="web"}"#) == 1, "\(metrics)")
        #expect(ResilienceTests.value(metrics, #"heddle_health_check_transitions_total{service="web",to="unhealthy"}"#) == 1, "\(metrics)")
        let log = proxy.child.stdout + proxy.child.stderr
        #expect(log.contains("endpoint unhealthy") && log.contains(apps[1].address) && log.contains("no answer within 150ms"), "\(log)")

        apps[1].child.signal(SIGCONT)
        try await Task.sleep(for: .seconds(1))
        let resumed = try await ResilienceTests.load(proxy.outbound, host: "web", seconds: 2, connections: 2, rate: 100)
        #expect(resumed["exceptions"] as? Int == 0, "\(resumed)")
        #expect((resumed["statuses"] as? [String: Int])?.keys.sorted() == ["200"], "\(resumed)")
        let served = resumed["served"] as? [String: Int] ?? [:]
        #expect(served.keys.sorted() == ["a", "b"] && (served["b"] ?? 0) > 50, "\(resumed)")
        metrics = try ResilienceTests.metrics(proxy)
        #expect(ResilienceTests.value(metrics, #"heddle_endpoints_unhealthy{service="web"}"#) == 0, "\(metrics)")
        #expect(ResilienceTests.value(metrics, #"heddle_health_check_transitions_total{service="web",to="healthy"}"#) == 1, "\(metrics)")
        #expect((proxy.child.stdout + proxy.child.stderr).contains("endpoint healthy again"))
    }

    @Test func aTCPCheckTakesAClosedPortOutSoNoRequestFailsWithoutRetries() async throws {
        let app = try await Upstream(.http, name: "up")
        let hung = try await Upstream(.http, name: "hung")
        let closed = "127.0.0.1:\(try Self.closedPort())"
        let config = Config.proxy()
            + Config.service("web", [closed, app.address], extra: "loadBalancer: {policy: round-robin}\nhealthCheck: {tcp: {}, \(Self.fastCheck)}")
            + Config.route("web", """
                hostnames: [web]
                rules:
                  - backendRefs: [{name: web}]
                    retry: {attempts: 1}
                """)
            // Probes that never get an answer: one is in flight most of the time, for SIGTERM.
            + Config.service("hung", [hung.address], extra: "healthCheck: {http: {path: /hang}, \(Self.fastCheck)}")
        let proxy = try await HeddleProxyProcess(config: config)
        try await Task.sleep(for: .seconds(1))
        let summary = try await ResilienceTests.load(proxy.outbound, host: "web", seconds: 2, connections: 2, rate: 100)
        #expect(summary["exceptions"] as? Int == 0, "\(summary)")
        #expect((summary["statuses"] as? [String: Int])?.keys.sorted() == ["200"], "\(summary)")
        let total = try #require(summary["total"] as? Int)
        #expect(summary["served"] as? [String: Int] == ["up": total], "\(summary)")
        let metrics = try ResilienceTests.metrics(proxy)
        #expect(ResilienceTests.value(metrics, #"heddle_endpoints_unhealthy{service="web"}"#) == 1, "\(metrics)")
        #expect(ResilienceTests.value(metrics, #"heddle_health_check_transitions_total{service="web",to="unhealthy"}"#) == 1, "\(metrics)")
        #expect(ResilienceTests.value(metrics, #"heddle_endpoints_unhealthy{service="hung"}"#) == 1, "\(metrics)")
        #expect(ResilienceTests.value(metrics, #"heddle_proxy_errors_total{reason="connect-failed"}"#) == 0, "\(metrics)")
        let log = proxy.child.stdout + proxy.child.stderr
        #expect(log.contains("endpoint unhealthy") && log.contains(closed) && log.contains("connect failed"), "\(log)")

        proxy.child.signal(SIGTERM)
        #expect(await proxy.child.waitForExit(timeout: .seconds(10)) == 0)
    }

    @Test func anHTTPCheckOnAnHTTP2ServiceSpeaksHTTP2() async throws {
        let h2 = try await FixtureServer("h2_server.py", name: "h2ok")
        let http1Only = try await Upstream(.http, name: "h1only")
        let config = Config.proxy() + Config.service("web", [h2.address, http1Only.address], extra: """
            protocol: http2
            loadBalancer: {policy: round-robin}
            healthCheck: {http: {path: /hello}, \(Self.fastCheck)}
            """)
        let proxy = try await HeddleProxyProcess(config: config)
        try await Task.sleep(for: .seconds(1))
        let summary = try await ResilienceTests.load(proxy.outbound, host: "web", seconds: 1, connections: 2, rate: 100)
        #expect(summary["exceptions"] as? Int == 0, "\(summary)")
        #expect((summary["statuses"] as? [String: Int])?.keys.sorted() == ["200"], "\(summary)")
        let total = try #require(summary["total"] as? Int)
        #expect(summary["served"] as? [String: Int] == ["h2ok": total], "\(summary)")
        let metrics = try ResilienceTests.metrics(proxy)
        #expect(ResilienceTests.value(metrics, #"heddle_endpoints_unhealthy{service="web"}"#) == 1, "\(metrics)")
        #expect(ResilienceTests.value(metrics, #"heddle_health_check_transitions_total{service="web",to="unhealthy"}"#) == 1, "\(metrics)")
        let log = proxy.child.stdout + proxy.child.stderr
        #expect(log.contains("endpoint unhealthy") && log.contains(http1Only.address), "\(log)")
    }
}
