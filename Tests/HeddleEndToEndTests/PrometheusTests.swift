import Foundation
import Testing

/// The shipped Prometheus files (`deploy/prometheus`) and the proxies' `/metrics`, checked by
/// Prometheus's own `promtool`: the scrape config and alert rules load, each alert fires on the
/// series its unit tests give and stays quiet otherwise, and a live proxy's exposition passes
/// promtool's lint.
@Suite(.serialized)
struct PrometheusTests {
    static let directory = "\(TestSupport.packageRoot)/deploy/prometheus"

    static func promtool(_ arguments: [String], input: String? = nil) throws -> (status: Int32, output: String) {
        guard let tool = TestSupport.which("promtool") else {
            throw TestFailure("promtool is not installed (Debian's prometheus package; scripts/test.sh installs it)")
        }
        let result = try runToFiles(tool, arguments, timeout: 60, input: input)
        return (result.status, result.output + result.errors)
    }

    @Test func theScrapeConfigAndAlertRulesLoadAndTheirUnitTestsPass() throws {
        let config = try Self.promtool(["check", "config", "\(Self.directory)/scrape.yaml"])
        #expect(config.status == 0, "\(config.output)")
        #expect(config.output.contains("SUCCESS: 8 rules found"), "\(config.output)")
        let tests = try Self.promtool(["test", "rules", "\(Self.directory)/heddle-alerts.test.yaml"])
        #expect(tests.status == 0, "\(tests.output)")
        #expect(tests.output.contains("SUCCESS"), "\(tests.output)")
    }

    @Test func aLiveProxysMetricsPassPromtoolsLint() async throws {
        let collector = try await OTLPReceiver()
        let app = try await Upstream(.http, name: "app")
        let config = Config.proxy(tracing: "collector: \(collector.url)\nsampleRate: 1") + Config.service("web", [app.address])
        let proxy = try await HeddleProxyProcess(config: config)
        #expect(try curl(["-H", "Host: web", "http://127.0.0.1:\(proxy.outbound)/hello"]).output == "hello from app\n")
        _ = try curl(["-H", "Host: nowhere", "http://127.0.0.1:\(proxy.outbound)/"])
        _ = try await collector.waitForSpans(count: 2)
        let metrics = try proxyMetrics(proxy)
        #expect(metrics.contains("heddle_requests_total{"), "\(metrics)")
        let lint = try Self.promtool(["check", "metrics"], input: metrics)
        #expect(lint.status == 0, "promtool check metrics:\n\(lint.output)")
    }
}
