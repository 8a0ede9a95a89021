import Foundation
import Testing

/// gRPC through the real binary: a grpcio client and server (raw-bytes generic handlers, no
/// generated code) for every streaming kind, statuses and trailing metadata passed on
/// untouched, and the gRPC-shaped errors the proxy makes itself.
@Suite(.serialized)
struct GRPCTests {
    static func grpc(_ port: Int, _ authority: String, _ arguments: [String], timeout: Duration = .seconds(60)) async throws -> [[String: Any]] {
        try await runPythonClient("grpc_client.py", [String(port), authority] + arguments, timeout: timeout)
    }

    static func byKind(_ results: [[String: Any]]) -> [String: [String: Any]] {
        Dictionary(results.map { ($0["kind"] as? String ?? "?", $0) }, uniquingKeysWith: { first, _ in first })
    }

    @Test func everyStreamingKindWithStatusMessageAndTrailersPreserved() async throws {
        let server = try await FixtureServer("grpc_server.py", name: "echo-server")
        let proxy = try await HeddleProxyProcess(config: Config.proxy() + Config.service("echo", [server.address], extra: "protocol: grpc"))
        let results = Self.byKind(try await Self.grpc(proxy.outbound, "echo", ["kinds"]))
        #expect(results["unary"]?["response"] as? String == "echo-server:ping")
        #expect(results["unary"]?["code"] as? Int == 0)
        #expect((results["unary"]?["trailing"] as? [String: String])?["x-served-by"] == "echo-server")
        #expect(results["server-stream"]?["responses"] as? [String] == ["item-0", "item-1", "item-2", "item-3", "item-4"])
        #expect(results["client-stream"]?["response"] as? String == "3 messages, 60 bytes")
        #expect(results["bidi"]?["responses"] as? [String] == ["one", "two", "three"])
        let failed = results["fail"]
        #expect(failed?["code"] as? Int == 9, "\(String(describing: failed))")
        #expect(failed?["details"] as? String == "precondition failed: café 100%")
        #expect((failed?["trailing"] as? [String: String])?["x-failure-detail"] == "kept")
        #expect((failed?["trailing"] as? [String: String])?["heddle-error"] == nil, "an app's error is not the proxy's")
        let metrics = try proxyMetrics(proxy)
        #expect(metrics.contains("heddle_requests_total{listener=\"outbound\",route=\"echo#0\",backend=\"echo\",status_class=\"2xx\"} 5"))
    }

    @Test func proxyMadeErrorsAreGRPCStatuses() async throws {
        let closedPort = try await ErrorReasonTests.closedPort()
        let config = Config.proxy() + Config.service("dead", ["127.0.0.1:\(closedPort)"], extra: "protocol: grpc")
        let proxy = try await HeddleProxyProcess(config: config)
        let noRoute = try await Self.grpc(proxy.outbound, "nowhere", ["unary"])[0]
        #expect(noRoute["code"] as? Int == 12, "\(noRoute)")
        #expect(noRoute["details"] as? String == "heddle: no-route: no route for host 'nowhere' path '/heddle.test.Echo/Unary'")
        #expect((noRoute["trailing"] as? [String: String])?["heddle-error"] == "no-route")
        let dead = try await Self.grpc(proxy.outbound, "dead", ["unary"])[0]
        #expect(dead["code"] as? Int == 14, "\(dead)")
        #expect((dead["details"] as? String)?.hasPrefix("heddle: connect-failed: cannot connect to 127.0.0.1:\(closedPort)") == true, "\(dead)")
        #expect((dead["trailing"] as? [String: String])?["heddle-error"] == "connect-failed")
        let metrics = try proxyMetrics(proxy)
        #expect(metrics.contains("heddle_proxy_errors_total{reason=\"no-route\"} 1"))
        #expect(metrics.contains("heddle_proxy_errors_total{reason=\"connect-failed\"} 1"))
    }

    @Test func fiftyMegabytesThroughABidiStreamWithBoundedMemory() async throws {
        let server = try await FixtureServer("grpc_server.py", name: "bulk")
        let proxy = try await HeddleProxyProcess(config: Config.proxy() + Config.service("bulk", [server.address], extra: "protocol: grpc"))
        let before = StreamingTests.peakRSSKiB(proxy.child.pid)
        let result = try await Self.grpc(proxy.outbound, "bulk", ["bulk", "50"], timeout: .seconds(120))[0]
        #expect(result["received"] as? Int == 50 * 1024 * 1024, "\(result)")
        #expect(result["matched"] as? Bool == true)
        let growth = StreamingTests.peakRSSKiB(proxy.child.pid) - before
        #expect(growth < 48 * 1024, "proxy peak memory grew by \(growth) KiB while streaming 100 MB")
    }

    @Test func sigtermLetsAnInFlightCallFinish() async throws {
        let server = try await FixtureServer("grpc_server.py", name: "drain")
        let proxy = try await HeddleProxyProcess(config: Config.proxy("drainGracePeriod: 10s") + Config.service("slow", [server.address], extra: "protocol: grpc"))
        let port = proxy.outbound
        async let call = Self.grpc(port, "slow", ["slow", "1500"])
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if (try? proxyMetrics(proxy))?.contains("heddle_downstream_connections 1") == true { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(300))
        proxy.child.signal(SIGTERM)
        let result = try await call
        #expect(result.first?["code"] as? Int == 0, "\(result)")
        #expect(result.first?["response"] as? String == "slow")
        #expect(await proxy.child.waitForExit(timeout: .seconds(15)) == 0)
    }
}
