import Foundation
import Testing

/// Request mirroring through the real binary: a route copies its requests to a shadow service
/// (an upstream of its own), fire and forget. The copies arrive marked, in their share; live
/// responses always come from the live app and are never slowed by a shadow that hangs; bodies
/// past the keep limit are not copied; every copy is counted `sent`, `failed` or `skipped`.
@Suite(.serialized)
struct MirroringTests {
    /// Services `web` (the live app) and `shadow`, and a route for host `web` that mirrors
    /// `percent` of its requests to `shadow`.
    static func config(live: String, shadow: String, percent: Double, http: String = "", shadowExtra: String = "") -> String {
        Config.proxy(http) + Config.service("web", [live]) + Config.service("shadow", [shadow], extra: shadowExtra)
            + Config.route("web", """
                hostnames: [web]
                rules:
                  - backendRefs: [{name: web}]
                    filters:
                      - type: RequestMirror
                        requestMirror: {backendRef: {name: shadow}, percent: \(percent)}
                """)
    }

    /// The `heddle_mirrored_requests_total` count of `outcome` for `service`.
    static func mirrored(_ proxy: HeddleProxyProcess, _ outcome: String, service: String = "shadow") throws -> Int {
        Int(ResilienceTests.value(try ResilienceTests.metrics(proxy), "heddle_mirrored_requests_total{service=\"\(service)\",outcome=\"\(outcome)\"}") ?? 0)
    }

    /// The `outcome` count for `service` once it reaches `expected`, or after five seconds.
    static func mirrored(_ proxy: HeddleProxyProcess, _ outcome: String, service: String = "shadow", reaching expected: Int) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(5)
        var count = try mirrored(proxy, outcome, service: service)
        while count != expected, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            count = try mirrored(proxy, outcome, service: service)
        }
        return count
    }

    /// The upstream's request count once it has stopped growing (copies are on their way
    /// while the live responses are already back).
    static func settledCount(_ app: Upstream, expecting expected: Int? = nil) async throws -> Int {
        var last = try ResilienceTests.served(app)
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(300))
            let now = try ResilienceTests.served(app)
            if now == last, expected == nil || now == expected { return now }
            last = now
        }
        return last
    }

    @Test func everyRequestIsCopiedMarkedAndAnsweredByTheLiveApp() async throws {
        let live = try await Upstream(.http, name: "live")
        let shadow = try await Upstream(.http, name: "shadow")
        let proxy = try await HeddleProxyProcess(config: Self.config(live: live.address, shadow: shadow.address, percent: 100))
        let connection = try RawConnection(port: proxy.outbound)
        var sent = 0
        for _ in 0..<20 {
            connection.send("GET /hello HTTP/1.1\r\nHost: web\r\n\r\n")
            let response = try connection.readResponse(checkClosed: false)
            #expect(response.status == 200 && response.headers["x-served-by"] == "live", "\(response.raw)")
            sent += 1
        }
        for index in 0..<10 {
            // Counted and chunked bodies: the copy carries the body as framed.
            if index % 2 == 0 {
                connection.send("POST /count HTTP/1.1\r\nHost: web\r\nContent-Length: 5\r\n\r\nhello")
            } else {
                connection.send("POST /count HTTP/1.1\r\nHost: web\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
            }
            let response = try connection.readResponse(checkClosed: false)
            #expect(response.status == 200 && response.body == "5\n" && response.headers["x-served-by"] == "live", "\(response.raw)")
            sent += 1
        }
        connection.send("GET /headers HTTP/1.1\r\nHost: web\r\nConnection: keep-alive, x-hop\r\nx-hop: 1\r\nx-trace: t1\r\n\r\n")
        let echoed = try connection.readResponse(checkClosed: false)
        sent += 1
        // The live app saw the live request: its own host, no marker.
        #expect(echoed.headers["x-served-by"] == "live", "\(echoed.raw)")
        #expect(echoed.body.contains("Host: web\r\n") && !echoed.body.lowercased().contains("heddle-mirror"), "\(echoed.body)")

        #expect(try await Self.settledCount(shadow, expecting: sent) == sent)
        #expect(try ResilienceTests.served(live) == sent)
        // The shadow saw the copy: the -shadow host, the marker, no hop-by-hop fields, the rest.
        let copy = try curl(["http://\(shadow.address)/last"]).output
        #expect(copy.hasPrefix("GET /headers HTTP/1.1\r\n"), "\(copy)")
        #expect(copy.contains("Host: web-shadow\r\n"), "\(copy)")
        #expect(copy.contains("heddle-mirror: 1\r\n"), "\(copy)")
        #expect(copy.contains("x-trace: t1\r\n"), "\(copy)")
        #expect(!copy.lowercased().contains("x-hop") && !copy.lowercased().contains("connection:"), "\(copy)")
        #expect(try Self.mirrored(proxy, "sent") == sent)
        #expect(try Self.mirrored(proxy, "failed") == 0)
        #expect(try Self.mirrored(proxy, "skipped") == 0)
    }

    @Test func halfTheRequestsAreCopiedAtFiftyPercent() async throws {
        let live = try await Upstream(.http, name: "live")
        let shadow = try await Upstream(.http, name: "shadow")
        let proxy = try await HeddleProxyProcess(config: Self.config(live: live.address, shadow: shadow.address, percent: 50))
        let summary = try await ResilienceTests.load(proxy.outbound, host: "web", seconds: 30, connections: 4, rate: 200, count: 400)
        let total = try #require(summary["total"] as? Int)
        #expect(total == 400 && summary["exceptions"] as? Int == 0, "\(summary)")
        #expect((summary["served"] as? [String: Int]) == ["live": total], "\(summary)")
        let copies = try await Self.settledCount(shadow)
        // Binomial(n, ½): within four standard deviations, √(n/4).
        let sigma = (Double(total) / 4).squareRoot()
        #expect(abs(Double(copies) - Double(total) / 2) < 4 * sigma, "copies: \(copies) of \(total)")
        #expect(try Self.mirrored(proxy, "sent") == copies)
    }

    @Test func aShadowThatHangsNeitherSlowsNorFailsTheLiveRequests() async throws {
        let live = try await Upstream(.http, name: "live")
        let shadow = try await Upstream(.http, name: "shadow")
        // Copies are given the proxy's requestTimeout to be answered.
        let proxy = try await HeddleProxyProcess(config: Self.config(
            live: live.address, shadow: shadow.address, percent: 100, http: "requestTimeout: 1s"))
        for _ in 0..<20 {
            #expect(try curl(["-H", "Host: web", "http://127.0.0.1:\(proxy.outbound)/hello"]).output == "hello from live\n")
        }
        #expect(try await Self.settledCount(shadow, expecting: 20) == 20)

        shadow.child.signal(SIGSTOP)
        defer { shadow.child.signal(SIGCONT) }
        let summary = try await ResilienceTests.load(proxy.outbound, host: "web", seconds: 30, connections: 4, rate: 100, count: 400)
        let total = try #require(summary["total"] as? Int)
        #expect(total == 400 && summary["exceptions"] as? Int == 0, "\(summary)")
        #expect((summary["statuses"] as? [String: Int]) == ["200": total], "\(summary)")
        #expect((summary["served"] as? [String: Int]) == ["live": total], "\(summary)")
        // A live request that waited on its copy would take the copy's full second; half of it
        // leaves room for a loaded CI machine's own tail.
        #expect((summary["p99"] as? Double ?? 9999) < 500, "\(summary)")
        #expect((summary["max"] as? Double ?? 9999) < 1000, "\(summary)")

        // Every copy has ended once the last ones have had their second.
        try await Task.sleep(for: .milliseconds(1500))
        let sent = try Self.mirrored(proxy, "sent")
        let failed = try Self.mirrored(proxy, "failed")
        let skipped = try Self.mirrored(proxy, "skipped")
        #expect(sent == 20, "sent \(sent), failed \(failed), skipped \(skipped)")
        // At most 64 copies in flight per loop: they time out after a second each, and the
        // copies that find the bound reached are skipped.
        #expect(failed >= 64 && skipped > 0, "sent \(sent), failed \(failed), skipped \(skipped)")
        #expect(sent + failed + skipped == 20 + total, "sent \(sent), failed \(failed), skipped \(skipped), requests \(20 + total)")
    }

    @Test func aBodyPastTheKeepLimitIsNotCopied() async throws {
        let live = try await Upstream(.http, name: "live")
        let shadow = try await Upstream(.http, name: "shadow")
        let proxy = try await HeddleProxyProcess(config: Self.config(live: live.address, shadow: shadow.address, percent: 100))
        let big = try MeshHopTests.scratchFile(bytes: 1024 * 1024)
        let url = "http://127.0.0.1:\(proxy.outbound)/count"
        #expect(try curl(["-H", "Host: web", "--data-binary", "@\(big)", url]).output == "1048576\n")
        // Just within the 64 KiB kept: copied.
        let fits = try MeshHopTests.scratchFile(bytes: 60 * 1024)
        #expect(try curl(["-H", "Host: web", "--data-binary", "@\(fits)", url]).output == "61440\n")
        #expect(try await Self.settledCount(shadow, expecting: 1) == 1)
        #expect(try curl(["http://\(shadow.address)/last"]).output.contains("Content-Length: 61440\r\n"))
        #expect(try Self.mirrored(proxy, "skipped") == 1)
        #expect(try Self.mirrored(proxy, "sent") == 1)
    }

    @Test func http2RequestsAreCopiedToHTTP1AndHTTP2Shadows() async throws {
        let live = try await Upstream(.http, name: "live")
        let shadow = try await Upstream(.http, name: "shadow")
        let h2Shadow = try await FixtureServer("h2_server.py", name: "h2shadow")
        let config = Config.proxy() + Config.service("web", [live.address]) + Config.service("shadow", [shadow.address])
            + Config.service("h2shadow", [h2Shadow.address], extra: "protocol: http2") + Config.route("web", """
                hostnames: [web]
                rules:
                  - backendRefs: [{name: web}]
                    filters:
                      - type: RequestMirror
                        requestMirror: {backendRef: {name: shadow}}
                      - type: RequestMirror
                        requestMirror: {backendRef: {name: h2shadow}}
                """)
        let proxy = try await HeddleProxyProcess(config: config)
        // An HTTP/1 client's request goes to the HTTP/2 shadow as HTTP/2.
        #expect(try curl(["-H", "Host: web", "http://127.0.0.1:\(proxy.outbound)/hello"]).output == "hello from live\n")
        let hello = try await HTTP2Tests.h2(proxy.outbound, "web", "/hello", ["--count", "5"])
        #expect(hello.count == 5 && hello.allSatisfy { $0["body"] as? String == "hello from live\n" }, "\(hello)")
        let posted = try await HTTP2Tests.h2(proxy.outbound, "web", "/count", ["--method", "POST", "--body-size", "1000"])
        #expect(posted.first?["body"] as? String == "1000\n", "\(posted)")
        // Past the keep limit: not copied.
        let big = try await HTTP2Tests.h2(proxy.outbound, "web", "/count", ["--method", "POST", "--body-size", "1048576"])
        #expect(big.first?["body"] as? String == "1048576\n", "\(big)")

        #expect(try await Self.settledCount(shadow, expecting: 7) == 7)
        // The last copy, of the HTTP/2 POST, as HTTP/1.1: the -shadow host, the body counted.
        let copy = try curl(["http://\(shadow.address)/last"]).output
        #expect(copy.hasPrefix("POST /count HTTP/1.1\r\n"), "\(copy)")
        #expect(copy.contains("host: web-shadow\r\n") && copy.contains("content-length: 1000\r\n"), "\(copy)")
        #expect(copy.contains("heddle-mirror: 1\r\n"), "\(copy)")
        #expect(try ResilienceTests.served(live) == 8)
        for service in ["shadow", "h2shadow"] {
            #expect(try await Self.mirrored(proxy, "sent", service: service, reaching: 7) == 7, "\(service)")
            #expect(try Self.mirrored(proxy, "skipped", service: service) == 1, "\(service)")
            #expect(try Self.mirrored(proxy, "failed", service: service) == 0, "\(service)")
        }
    }
}

extension MirroringTests {
    @Test func theMirroringExampleRunsAndTheDocsShowItAsItIs() async throws {
        let example = try String(contentsOfFile: "\(TestSupport.packageRoot)/examples/mirroring.yaml", encoding: .utf8)
        let doc = try String(contentsOfFile: "\(TestSupport.packageRoot)/docs/resilience.md", encoding: .utf8)
        #expect(doc.contains("```yaml\n" + example + "```\n"), "docs/resilience.md's example differs from examples/mirroring.yaml")
        let web = try await Upstream(.http, name: "web")
        let next = try await Upstream(.http, name: "web-next")
        let yaml = example.replacingOccurrences(of: "127.0.0.1:4140", with: "127.0.0.1:0")
            .replacingOccurrences(of: "127.0.0.1:4191", with: "127.0.0.1:0")
            .replacingOccurrences(of: "127.0.0.1:8081", with: web.address)
            .replacingOccurrences(of: "127.0.0.1:9081", with: next.address)
            .replacingOccurrences(of: "percent: 10\n", with: "percent: 100\n")
        let proxy = try await HeddleProxyProcess(config: yaml)
        // 200 KiB: within the example's 256 KiB, so copied.
        let body = try MeshHopTests.scratchFile(bytes: 200 * 1024)
        for _ in 0..<3 {
            #expect(try curl(["-H", "Host: web", "--data-binary", "@\(body)", "http://127.0.0.1:\(proxy.outbound)/count"]).output == "204800\n")
        }
        #expect(try await Self.settledCount(next, expecting: 3) == 3)
        #expect(try curl(["http://\(next.address)/last"]).output.contains("Host: web-shadow\r\n"))
    }
}
