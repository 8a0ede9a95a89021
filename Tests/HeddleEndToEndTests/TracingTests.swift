import Foundation
import Testing

/// A test OTLP/HTTP collector (`Fixtures/otlp_receiver.py`): the spans it received, one JSON
/// object each.
final class OTLPReceiver: @unchecked Sendable {
    let server: FixtureServer

    init(failFirst: Int = 0) async throws {
        server = try await FixtureServer("otlp_receiver.py", name: "collector", extra: ["--fail-first", String(failFirst)])
    }

    var child: ChildProcess { server.child }
    var port: Int { server.port }

    var url: String { "http://127.0.0.1:\(port)" }

    var spans: [[String: Any]] {
        child.stdout.split(separator: "\n").dropFirst().compactMap { line in
            try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        }
    }

    /// Waits (proxies export once a second) until at least `count` spans of `trace` arrived.
    func waitForSpans(trace: String? = nil, count: Int, timeout: Duration = .seconds(15)) async throws -> [[String: Any]] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let found = spans.filter { trace == nil || $0["traceId"] as? String == trace }
            if found.count >= count { return found }
            if ContinuousClock.now > deadline {
                throw TestFailure("\(found.count) of \(count) spans arrived:\n\(child.stdout)\(child.stderr)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}

/// Distributed tracing through the real binary: W3C `traceparent` continued or started at each
/// hop, a span per request per proxy, exported by OTLP/HTTP to a collector.
@Suite(.serialized)
struct TracingTests {
    static func attributes(_ span: [String: Any]) -> [String: Any] { span["attributes"] as? [String: Any] ?? [:] }

    /// curl → sidecar a → (mTLS) → sidecar b → app b → sidecar b → (mTLS) → sidecar c → app c.
    /// Only a samples new traces; b and c follow the caller's decision, so the trace is whole.
    @Test func aTraceThroughThreeServicesArrivesWithParentLinksIntact() async throws {
        let collector = try await OTLPReceiver()
        let cp = try await ControlPlaneProcess()
        let appA = try await Upstream(.http, name: "a")
        let appB = try await Upstream(.http, name: "b")
        let appC = try await Upstream(.http, name: "c")
        let tracing = ["--trace-collector", collector.url]
        let a = try await SidecarProcess(controlPlane: cp.url, service: "a", appPort: appA.port, extra: tracing + ["--trace-sample-rate", "1"])
        let b = try await SidecarProcess(controlPlane: cp.url, service: "b", appPort: appB.port, extra: tracing + ["--trace-sample-rate", "0"])
        _ = try await SidecarProcess(controlPlane: cp.url, service: "c", appPort: appC.port, extra: tracing + ["--trace-sample-rate", "0"])
        try await Task.sleep(for: .milliseconds(500))

        // The caller starts the trace itself: its trace id is kept end to end.
        let callerTrace = "0af7651916cd43dd8448eb211c80319c"
        let callerSpan = "b7ad6b7169203331"
        let answer = try curl([
            "-w", "%{http_code}", "-H", "Host: b",
            "-H", "traceparent: 00-\(callerTrace)-\(callerSpan)-01", "-H", "tracestate: vendor=kept",
            "http://127.0.0.1:\(a.outbound)/via/\(b.outbound)/c/hello",
        ])
        #expect(answer.output == "hello from c\n200", "\(answer.output)")

        let spans = try await collector.waitForSpans(trace: callerTrace, count: 4)
        #expect(spans.count == 4, "\(spans)")
        func span(_ service: String, kind: Int) throws -> [String: Any] {
            try #require(spans.first { $0["service"] as? String == service && $0["kind"] as? Int == kind }, "no \(service) span of kind \(kind) in \(spans)")
        }
        let aOut = try span("a", kind: 3)
        let bIn = try span("b", kind: 2)
        let bOut = try span("b", kind: 3)
        let cIn = try span("c", kind: 2)
        // Each hop's parent is the one before it.
        #expect(aOut["parentSpanId"] as? String == callerSpan)
        #expect(bIn["parentSpanId"] as? String == aOut["spanId"] as? String)
        #expect(bOut["parentSpanId"] as? String == bIn["spanId"] as? String, "app b passed on the traceparent its sidecar sent")
        #expect(cIn["parentSpanId"] as? String == bOut["spanId"] as? String)
        #expect(Set(spans.compactMap { $0["spanId"] as? String }).count == 4)
        // What each span says: listener, route, backend, status, and on the inbound side the
        // caller's workload identity from mutual TLS.
        #expect(Self.attributes(aOut)["heddle.listener"] as? String == "outbound")
        #expect(Self.attributes(aOut)["heddle.backend"] as? String == "b")
        #expect(Self.attributes(aOut)["http.response.status_code"] as? Int == 200)
        #expect(Self.attributes(aOut)["url.path"] as? String == "/via/\(b.outbound)/c/hello")
        #expect(Self.attributes(bOut)["heddle.backend"] as? String == "c")
        #expect(Self.attributes(cIn)["heddle.listener"] as? String == "inbound")
        #expect(Self.attributes(cIn)["heddle.client_identity"] as? String == "spiffe://heddle.local/service/b", "\(cIn)")
        #expect(Self.attributes(bIn)["heddle.client_identity"] as? String == "spiffe://heddle.local/service/a")
        for found in spans {
            let start = try #require(found["start"] as? Int)
            let end = try #require(found["end"] as? Int)
            #expect(start > 1_700_000_000_000_000_000 && end >= start, "\(found)")
            #expect((found["status"] as? [String: Any])?.isEmpty == true, "a success leaves the status unset: \(found)")
        }
        // The outer span encloses the inner ones (same clock on one machine).
        #expect((aOut["start"] as! Int) <= (cIn["start"] as! Int) && (cIn["end"] as! Int) <= (aOut["end"] as! Int))

        // Without a traceparent, sidecar a starts a trace (rate 1) that b and c continue.
        let fresh = try curl(["-H", "Host: b", "http://127.0.0.1:\(a.outbound)/via/\(b.outbound)/c/hello"])
        #expect(fresh.output == "hello from c\n")
        let all = try await collector.waitForSpans(count: 8)
        let newTraces = Set(all.compactMap { $0["traceId"] as? String }).subtracting([callerTrace])
        #expect(newTraces.count == 1, "\(all)")
        let root = all.first { $0["traceId"] as? String == newTraces.first && $0["service"] as? String == "a" }
        #expect(root?["parentSpanId"] as? String == "", "a new trace's first span has no parent")

        // A caller that did not sample: nothing recorded anywhere for a success.
        let unsampled = try curl(["-H", "Host: b", "-H", "traceparent: 00-\(String(repeating: "1", count: 32))-\(callerSpan)-00", "http://127.0.0.1:\(a.outbound)/via/\(b.outbound)/c/hello"])
        #expect(unsampled.output == "hello from c\n")
        try await Task.sleep(for: .milliseconds(2500))
        #expect(collector.spans.count == 8, "\(collector.spans)")
    }

    /// A failed request is recorded even when its trace is not sampled; its span names the
    /// reason, and the access log line carries the trace id. A collector that refuses a batch
    /// at first (503) gets it again a second later.
    @Test func failedRequestsAreAlwaysRecordedAndTheExportIsRetried() async throws {
        let collector = try await OTLPReceiver(failFirst: 1)
        let app = try await Upstream(.http, name: "app")
        let config = Config.proxy(accessLog: "mode: full", tracing: "collector: \(collector.url)\nsampleRate: 0\nserviceName: edge")
            + Config.service("web", [app.address])
        let proxy = try await HeddleProxyProcess(config: config)
        let url = "http://127.0.0.1:\(proxy.outbound)"

        #expect(try curl(["-H", "Host: web", "\(url)/hello"]).output == "hello from app\n")
        let refused = try curl(["-i", "-H", "Host: nowhere", "\(url)/missing"])
        #expect(RawConnection.parse(refused.output).status == 404)
        let broken = try curl(["-i", "-H", "Host: web", "\(url)/status/503"])
        #expect(RawConnection.parse(broken.output).status == 503)

        let spans = try await collector.waitForSpans(count: 2)
        #expect(spans.count == 2, "only the failures: \(spans)")
        let noRoute = try #require(spans.first { Self.attributes($0)["heddle.error"] as? String == "no-route" }, "\(spans)")
        #expect(noRoute["service"] as? String == "edge")
        #expect((noRoute["status"] as? [String: Any])?["code"] as? Int == 2)
        #expect(((noRoute["status"] as? [String: Any])?["message"] as? String)?.hasPrefix("no-route: ") == true, "\(noRoute)")
        #expect(Self.attributes(noRoute)["http.response.status_code"] as? Int == 404)
        let upstreamFailure = try #require(spans.first { Self.attributes($0)["http.response.status_code"] as? Int == 503 })
        #expect(Self.attributes(upstreamFailure)["heddle.endpoint"] as? String == app.address)
        #expect(Self.attributes(upstreamFailure)["error.type"] as? String == "503")

        // The access log links each request to its trace.
        let traceID = try #require(noRoute["traceId"] as? String)
        let logged = proxy.child.stdout.split(separator: "\n").first { $0.contains("\"target\":\"/missing\"") }
        #expect(logged?.contains("\"trace_id\":\"\(traceID)\"") == true, "\(proxy.child.stdout)")

        let metrics = try proxyMetrics(proxy)
        #expect(metrics.contains("heddle_trace_spans_total{outcome=\"exported\"} 2"), "\(metrics)")
    }

    /// In an outage every request fails: the spans of unsampled failures are kept up to 100 a
    /// second per worker, and the rest counted, so tracing does not double the proxy's work.
    @Test func anOutageDoesNotRecordEveryFailure() async throws {
        guard let wrk = TestSupport.which("wrk") else { throw TestFailure("wrk is required (apt-get install wrk)") }
        let collector = try await OTLPReceiver()
        let config = Config.proxy(tracing: "collector: \(collector.url)\nsampleRate: 0") + Config.service("down", [])
        let proxy = try await HeddleProxyProcess(config: config)
        let started = ContinuousClock.now
        let load = try ChildProcess(name: "wrk-outage", executable: wrk, arguments: ["-t1", "-c4", "-d4s", "-H", "Host: down", "http://127.0.0.1:\(proxy.outbound)/"])
        #expect(await load.waitForExit(timeout: .seconds(30)) == 0, "\(load.stdout)\(load.stderr)")
        let seconds = Int((ContinuousClock.now - started).components.seconds) + 2
        let answered = try #require(load.stdout.split(separator: "\n").first { $0.contains("requests in") }?.split(separator: " ").first.flatMap { Int($0) }, "\(load.stdout)")
        #expect(answered > 300, "wrk sent too few requests to reach the limit: \(load.stdout)")
        // Every failure is either recorded (exported) or counted as rate limited.
        var metrics = ""
        let deadline = ContinuousClock.now + .seconds(15)
        func count(_ outcome: String) -> Int {
            metrics.split(separator: "\n").first { $0.hasPrefix("heddle_trace_spans_total{outcome=\"\(outcome)\"}") }?.split(separator: " ").last.flatMap { Int($0) } ?? 0
        }
        repeat {
            try await Task.sleep(for: .milliseconds(300))
            metrics = try proxyMetrics(proxy)
        } while count("exported") + count("rate_limited") < answered && ContinuousClock.now < deadline
        // wrk does not count the answers still in flight on its 4 connections when it stops.
        #expect((answered...answered + 4).contains(count("exported") + count("rate_limited")), "\(answered) answered: \(metrics)")
        #expect(count("exported") <= 100 * seconds, "at most 100 a second (one worker): \(count("exported")) in about \(seconds) s")
        #expect(count("rate_limited") > 0)
        #expect(collector.spans.count == count("exported"))
        #expect(collector.spans.allSatisfy { Self.attributes($0)["heddle.error"] as? String == "no-endpoints" }, "\(collector.spans.prefix(2))")
    }

    /// Spans still waiting in the workers when the proxy is stopped are exported before it
    /// exits, and the exit does not wait on the collector longer than it must.
    @Test func spansRecordedJustBeforeStopAreExported() async throws {
        let collector = try await OTLPReceiver()
        let app = try await Upstream(.http, name: "app")
        let config = Config.proxy(tracing: "collector: \(collector.url)\nsampleRate: 1") + Config.service("web", [app.address])
        let proxy = try await HeddleProxyProcess(config: config)
        _ = try curl(["-s", "-o", "/dev/null", "-H", "Host: web"] + (0..<3).map { _ in "http://127.0.0.1:\(proxy.outbound)/hello" })
        let stopped = ContinuousClock.now
        proxy.child.signal(SIGTERM)
        #expect(await proxy.child.waitForExit(timeout: .seconds(15)) == 0)
        #expect(ContinuousClock.now - stopped < .seconds(5), "the exit took \(ContinuousClock.now - stopped)")
        #expect(try await collector.waitForSpans(count: 3, timeout: .seconds(2)).count == 3)
    }

    /// A collector that cannot be reached costs no request: spans are dropped and counted.
    @Test func aDeadCollectorCostsNoRequest() async throws {
        let deadPort = try TestSupport.freePort()
        let app = try await Upstream(.http, name: "app")
        let config = Config.proxy(tracing: "collector: http://127.0.0.1:\(deadPort)\nsampleRate: 1") + Config.service("web", [app.address])
        let proxy = try await HeddleProxyProcess(config: config)
        for _ in 0..<20 {
            #expect(try curl(["-H", "Host: web", "http://127.0.0.1:\(proxy.outbound)/hello"]).output == "hello from app\n")
        }
        let deadline = ContinuousClock.now + .seconds(15)
        var metrics = ""
        while ContinuousClock.now < deadline {
            metrics = try proxyMetrics(proxy)
            if metrics.contains("heddle_trace_spans_total{outcome=\"export_failed\"} 20") { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(metrics.contains("heddle_trace_spans_total{outcome=\"export_failed\"} 20"), "\(metrics)")
        #expect(proxy.child.stdout.contains("spans not exported") || proxy.child.stderr.contains("spans not exported"))
    }

    /// A collector address that is not an http(s) URL stops the proxy at start with the reason.
    @Test func anInvalidCollectorIsRefusedAtStart() async throws {
        let config = Config.proxy(tracing: "collector: ftp://collector:21\nsampleRate: 2")
        let path = "\(TestSupport.scratchDirectory())/tracing-\(UUID().uuidString.prefix(6)).yaml"
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        let run = try ChildProcess(name: "bad-tracing", executable: TestSupport.heddleBinary, arguments: ["proxy", "--config", path])
        let status = await run.waitForExit(timeout: .seconds(20))
        #expect(status != nil && status != 0)
        let output = run.stdout + run.stderr
        #expect(output.contains("spec.tracing.collector") && output.contains("is not an http:// or https:// URL"), "\(output)")
        #expect(output.contains("spec.tracing.sampleRate") && output.contains("must be between 0 and 1"), "\(output)")

        let sidecar = try ChildProcess(
            name: "bad-trace-flag", executable: TestSupport.heddleBinary,
            arguments: ["proxy", "--control-plane", "http://127.0.0.1:1", "--service", "a", "--app-port", "8080", "--trace-collector", "collector:4318"])
        let sidecarStatus = await sidecar.waitForExit(timeout: .seconds(20))
        #expect(sidecarStatus != nil && sidecarStatus != 0)
        #expect((sidecar.stdout + sidecar.stderr).contains("--trace-collector: 'collector:4318' is not an http:// or https:// URL"), "\(sidecar.stdout + sidecar.stderr)")
    }
}
