import Foundation
import Testing

/// Resilience through the real binary, with real peers: instances that die or hang under load,
/// retries held to their budget, bodies that are or are not replayed, deadlines carried across
/// two proxies, circuit breaking, rate limits and fault injection — each with its counts in
/// `/metrics` and its `heddle-error` reason.
@Suite(.serialized)
struct ResilienceTests {
    /// Runs `load.py` against the proxy: `rate` requests per second over `connections`
    /// keep-alive connections for `seconds` — or, given `count`, until `count` requests have been
    /// sent, with `seconds` only as a cap (a loaded machine sends fewer in a fixed time).
    static func load(_ port: Int, host: String, path: String = "/hello", seconds: Double, connections: Int, rate: Int, count: Int? = nil) async throws -> [String: Any] {
        let arguments = [String(port), host, path, String(seconds), String(connections), String(rate)] + (count.map { [String($0)] } ?? [])
        let lines = try await runPythonClient("load.py", arguments, timeout: .seconds(Int(seconds) + 30))
        return try #require(lines.first)
    }

    static func metrics(_ proxy: HeddleProxyProcess) throws -> String {
        try curl(["http://127.0.0.1:\(proxy.admin)/metrics"]).output
    }

    /// The number after `prefix` on a `/metrics` line, or nil.
    static func value(_ metrics: String, _ prefix: String) -> Double? {
        for line in metrics.split(separator: "\n") where line.hasPrefix(prefix + " ") {
            return Double(line.dropFirst(prefix.count + 1))
        }
        return nil
    }

    /// Waits until the upstreams have received `count` requests between them (the load has
    /// really started: a loaded machine can take seconds to start a Python client).
    static func waitForTraffic(_ apps: [Upstream], count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if try apps.map(served).reduce(0, +) >= count { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("the load did not start")
    }

    /// Requests an upstream has received (its `/stats`, asked directly).
    static func served(_ app: Upstream) throws -> Int {
        Int(try curl(["http://\(app.address)/stats"]).output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    @Test func anInstanceKilledUnderLoadCostsNoRequestAndIsEjected() async throws {
        let apps = [try await Upstream(.http, name: "a"), try await Upstream(.http, name: "b"), try await Upstream(.http, name: "c")]
        let proxy = try await HeddleProxyProcess(config: Config.proxy() + Config.service("web", apps.map(\.address)))
        // 1600 requests at 200/s: 8 s of load, most of it after the kill even when a loaded
        // machine is slow to notice that the load has started.
        async let run = Self.load(proxy.outbound, host: "web", seconds: 60, connections: 4, rate: 200, count: 1600)
        try await Self.waitForTraffic(apps, count: 100)
        apps[1].child.signal(SIGKILL)
        let servedAtKill = try Self.served(apps[0]) + Self.served(apps[2])
        let summary = try await run
        #expect(servedAtKill < 1200, "the kill came too late to matter: \(servedAtKill) requests served before it")
        #expect(summary["exceptions"] as? Int == 0, "\(summary)")
        #expect((summary["statuses"] as? [String: Int])?.keys.sorted() == ["200"], "\(summary)")
        #expect(summary["total"] as? Int == 1600, "\(summary)")
        let metrics = try Self.metrics(proxy)
        #expect(Self.value(metrics, "heddle_outlier_ejections_total{service=\"web\",reason=\"consecutive-failures\"}") == 1, "\(metrics)")
        #expect(Self.value(metrics, "heddle_endpoints_ejected{service=\"web\"}") == 1)
        #expect((Self.value(metrics, "heddle_retries_total{service=\"web\",reason=\"connect-failed\"}") ?? 0)
            + (Self.value(metrics, "heddle_retries_total{service=\"web\",reason=\"reset\"}") ?? 0) >= 1)
    }

    /// Round robin keeps sending the hung instance its turn, so outlier detection must take it
    /// out (the default P2C balancer already shuns it after one timeout, by its latency).
    @Test func anInstanceThatHangsIsTakenOutByPerTryTimeoutsAndEjection() async throws {
        let apps = [try await Upstream(.http, name: "a"), try await Upstream(.http, name: "b"), try await Upstream(.http, name: "c")]
        let config = Config.proxy() + Config.service("web", apps.map(\.address), extra: "loadBalancer: {policy: round-robin}") + Config.route("web", """
            hostnames: [web]
            rules:
              - backendRefs: [{name: web}]
                timeouts: {request: 5s, backendRequest: 300ms}
                retry:
                  attempts: 3
                  on: [connect-failure, reset, per-try-timeout]
            """)
        let proxy = try await HeddleProxyProcess(config: config)
        // 800 requests at 100/s: 8 s of load, most of it after the stop even when a loaded
        // machine is slow to notice that the load has started.
        async let run = Self.load(proxy.outbound, host: "web", seconds: 60, connections: 4, rate: 100, count: 800)
        try await Self.waitForTraffic(apps, count: 60)
        apps[2].child.signal(SIGSTOP)
        let servedAtStop = try Self.served(apps[0]) + Self.served(apps[1])
        let summary = try await run
        apps[2].child.signal(SIGCONT)
        #expect(servedAtStop < 500, "the stop came too late to matter: \(servedAtStop) requests served before it")
        #expect(summary["exceptions"] as? Int == 0, "\(summary)")
        #expect((summary["statuses"] as? [String: Int])?.keys.sorted() == ["200"], "\(summary)")
        // A request that met the hung instance waited one per-try timeout (300 ms) and a
        // backoff, then went elsewhere: latency stays bounded.
        #expect((summary["max"] as? Double ?? 9999) < 1500, "\(summary)")
        let metrics = try Self.metrics(proxy)
        // Five timeouts in a row ejected it (with up to three more already waiting on it from
        // the other connections); after that it had no more turns.
        let timeouts = Self.value(metrics, "heddle_retries_total{service=\"web\",reason=\"per-try-timeout\"}") ?? 0
        #expect(timeouts >= 5 && timeouts <= 8, "\(metrics)")
        #expect(Self.value(metrics, "heddle_outlier_ejections_total{service=\"web\",reason=\"consecutive-failures\"}") == 1, "\(metrics)")
    }

    @Test func retriesOfAFailingServiceStayWithinTheBudget() async throws {
        let app = try await Upstream(.http, name: "failing")
        let config = Config.proxy() + Config.service("web", [app.address]) + Config.route("web", """
            hostnames: [web]
            rules:
              - backendRefs: [{name: web}]
                retry: {attempts: 3}
            """)
        let proxy = try await HeddleProxyProcess(config: config)
        let summary = try await Self.load(proxy.outbound, host: "web", path: "/status/503", seconds: 9, connections: 3, rate: 150, count: 450)
        let requests = try #require(summary["total"] as? Int)
        let upstream = try Self.served(app)
        let retries = upstream - requests
        // Without a budget, 3 attempts would triple the load: 2 × requests retries. The budget
        // allows 20 % of requests plus its reserve of 10 per second over its 10 s window.
        #expect(requests > 300, "\(summary)")
        #expect(retries >= 100, "retries: \(retries), requests: \(requests)")
        #expect(Double(retries) <= 0.2 * Double(requests) + 100 + 2, "retries: \(retries), requests: \(requests)")
        #expect((summary["statuses"] as? [String: Int])?.keys.sorted() == ["503"], "\(summary)")
        // The app's own 503 reaches the client, marked when a retry was due but not allowed.
        #expect(((summary["errors"] as? [String: Int])?["retry-budget-exhausted"] ?? 0) > 0, "\(summary)")
        let metrics = try Self.metrics(proxy)
        #expect(Self.value(metrics, "heddle_retries_total{service=\"web\",reason=\"status\"}") == Double(retries), "\(metrics)")
        #expect((Self.value(metrics, "heddle_retry_budget_exhausted_total{service=\"web\"}") ?? 0) > 0)
    }

    @Test func aBodyIsReplayedOnlyWhenKeptAndTheMethodIsSafe() async throws {
        let app = try await Upstream(.http, name: "closer")
        let proxy = try await HeddleProxyProcess(config: Config.proxy() + Config.service("web", [app.address]))
        let big = try MeshHopTests.scratchFile(bytes: 10 * 1024 * 1024)
        let small = try MeshHopTests.scratchFile(bytes: 1024)
        let url = "http://127.0.0.1:\(proxy.outbound)/close"
        func attempts(_ arguments: [String]) throws -> (Int, String) {
            let before = try Self.served(app)
            let status = try curl(["-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: web"] + arguments + [url]).output
            return (try Self.served(app) - before, status)
        }
        // A 10 MB POST, a small POST: never sent twice (not idempotent).
        #expect(try attempts(["-X", "POST", "--data-binary", "@\(big)"]) == (1, "502"))
        #expect(try attempts(["-X", "POST", "--data-binary", "@\(small)"]) == (1, "502"))
        // A 10 MB PUT is idempotent but its body is past the 64 KiB kept for replay.
        #expect(try attempts(["-X", "PUT", "--data-binary", "@\(big)"]) == (1, "502"))
        // A small PUT and a GET are sent again.
        #expect(try attempts(["-X", "PUT", "--data-binary", "@\(small)"]) == (2, "502"))
        let get = try attempts([])
        #expect(get.0 >= 2 && get.1 == "502", "\(get)")
    }

    /// The mesh's own path: client → sidecar A (outbound) → sidecar B (inbound, `appProtocol:
    /// grpc`) → the gRPC server.
    @Test func aGRPCDeadlineIsKeptAndShrunkAcrossTwoProxies() async throws {
        let server = try await FixtureServer("grpc_server.py", name: "deadline")
        let b = try await HeddleProxyProcess(
            config: Config.proxy(inbound: "address: 127.0.0.1:0\nappAddress: \(server.address)\nappProtocol: grpc"),
            expectListeners: ["outbound", "inbound", "admin"])
        let inbound = try #require(b.ports["inbound"])
        let a = try await HeddleProxyProcess(config: Config.proxy() + Config.service("echo", ["127.0.0.1:\(inbound)"], extra: "protocol: grpc"))
        // Every streaming kind works on this path too.
        let kinds = GRPCTests.byKind(try await GRPCTests.grpc(a.outbound, "echo", ["kinds"]))
        #expect(kinds["unary"]?["response"] as? String == "deadline:ping", "\(kinds)")
        #expect((kinds["bidi"]?["responses"] as? [String]) == ["one", "two", "three"], "\(kinds)")
        // The server would answer after 3 s; the call ends at its 300 ms deadline (the upper
        // bound leaves room for a loaded machine).
        let result = try #require(try await GRPCTests.grpc(a.outbound, "echo", ["deadline", "300", "3000"]).first)
        #expect(result["code"] as? Int == 4, "\(result)")
        let elapsed = try #require(result["elapsed_ms"] as? Double)
        #expect(elapsed >= 250 && elapsed < 2000, "\(result)")
        // The server was told less than the caller's 300 ms: the time spent on the way is taken off.
        let seen = try #require(Int(result["server_deadline_ms"] as? String ?? ""), "\(result)")
        #expect(seen > 0 && seen < 300, "\(result)")
    }

    /// A gRPC call answered UNAVAILABLE (trailers-only) is retried once by default; another
    /// status is not. The caller sees the server's own status and message.
    @Test func aGRPCUnavailableIsRetriedAndOtherStatusesAreNot() async throws {
        let server = try await FixtureServer("grpc_server.py", name: "flaky")
        let proxy = try await HeddleProxyProcess(config: Config.proxy() + Config.service("echo", [server.address], extra: "protocol: grpc"))
        let unavailable = try #require(try await GRPCTests.grpc(proxy.outbound, "echo", ["fail", "14 shedding load"]).first)
        #expect(unavailable["code"] as? Int == 14 && unavailable["details"] as? String == "shedding load", "\(unavailable)")
        let other = try #require(try await GRPCTests.grpc(proxy.outbound, "echo", ["fail", "9 not now"]).first)
        #expect(other["code"] as? Int == 9, "\(other)")
        let metrics = try Self.metrics(proxy)
        #expect(Self.value(metrics, "heddle_retries_total{service=\"echo\",reason=\"grpc-status\"}") == 1, "\(metrics)")
    }

    /// An HTTP/2 stream whose response started and then went quiet is reset after the rule's
    /// stream idle timeout, instead of holding the stream open for ever.
    @Test func aStalledHTTP2StreamIsCutAfterTheIdleTimeout() async throws {
        let app = try await Upstream(.http, name: "stall")
        let config = Config.proxy() + Config.service("web", [app.address]) + Config.route("web", """
            hostnames: [web]
            rules:
              - backendRefs: [{name: web}]
                timeouts: {idle: 400ms}
            """)
        let proxy = try await HeddleProxyProcess(config: config)
        let started = ContinuousClock.now
        let response = try #require(try await HTTP2Tests.h2(proxy.outbound, "web", "/stall").first)
        let elapsed = ContinuousClock.now - started
        #expect(response["status"] as? Int == 200, "\(response)")
        #expect(response["length"] as? Int == 10, "\(response)")
        #expect(response["reset"] as? Int == 8, "reset with CANCEL: \(response)")
        #expect(elapsed >= .milliseconds(350) && elapsed < .seconds(3), "\(elapsed)")
        #expect(proxy.child.stderr.contains("stream idle"))
    }

    /// A caller that sends `grpc-timeout` but does not enforce it itself: the proxy answers
    /// `DEADLINE_EXCEEDED` at the deadline, gRPC-shaped, and says why.
    @Test func theProxyEnforcesAGRPCDeadlineItself() async throws {
        let app = try await Upstream(.http, name: "slow")
        let proxy = try await HeddleProxyProcess(config: Config.proxy() + Config.service("web", [app.address]))
        let started = ContinuousClock.now
        // The app would answer after 5 s; the proxy answers at the 300 ms deadline (the bound
        // below leaves room for a loaded machine's slow start of the client).
        let response = try #require(try await HTTP2Tests.h2(proxy.outbound, "web", "/slow/5000", [
            "--method", "POST", "--header", "content-type:application/grpc", "--header", "te:trailers", "--header", "grpc-timeout:300m",
        ]).first)
        let elapsed = ContinuousClock.now - started
        let headers = HTTP2Tests.headers(response)
        #expect(headers["grpc-status"] == "4", "\(response)")
        #expect(headers["heddle-error"] == "deadline-exceeded", "\(response)")
        #expect(elapsed >= .milliseconds(280) && elapsed < .milliseconds(4500), "\(elapsed)")
        let metrics = try Self.metrics(proxy)
        #expect(Self.value(metrics, "heddle_proxy_errors_total{reason=\"deadline-exceeded\"}") == 1, "\(metrics)")
    }

    @Test func anHTTPDeadlineIsEnforcedAndPassedOn() async throws {
        let app = try await Upstream(.http, name: "slow")
        let proxy = try await HeddleProxyProcess(config: Config.proxy() + Config.service("web", [app.address]))
        let started = ContinuousClock.now
        let connection = try RawConnection(port: proxy.outbound)
        // The app would answer after 3 s; the proxy answers at the 300 ms deadline.
        connection.send("GET /slow/3000 HTTP/1.1\r\nHost: web\r\nheddle-deadline: 300\r\n\r\n")
        let response = try connection.readResponse(checkClosed: false)
        let elapsed = ContinuousClock.now - started
        #expect(response.status == 504, "\(response.raw)")
        #expect(response.headers["heddle-error"] == "deadline-exceeded", "\(response.raw)")
        #expect(elapsed >= .milliseconds(280) && elapsed < .milliseconds(2000), "\(elapsed)")
        // The app is told the time left, less than the caller gave.
        connection.send("GET /headers HTTP/1.1\r\nHost: web\r\nheddle-deadline: 5000\r\n\r\n")
        let echoed = try connection.readResponse(checkClosed: false)
        let line = try #require(echoed.body.split(separator: "\r\n").first { $0.lowercased().hasPrefix("heddle-deadline:") }, "\(echoed.raw)")
        let left = try #require(Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)))
        #expect(left > 4000 && left <= 5000, "\(line)")
        // A malformed deadline is refused, naming the header.
        connection.send("GET /hello HTTP/1.1\r\nHost: web\r\nheddle-deadline: soon\r\n\r\n")
        let refused = try connection.readResponse(checkClosed: false)
        #expect(refused.status == 400 && refused.body.contains("heddle-deadline"), "\(refused.raw)")
    }

    @Test func theCircuitBreakerRefusesOverflowAtOnce() async throws {
        let app = try await Upstream(.http, name: "busy")
        let config = Config.proxy() + Config.service("web", [app.address], extra: "circuitBreaker: {maxRequests: 2}")
        let proxy = try await HeddleProxyProcess(config: config)
        let url = "http://127.0.0.1:\(proxy.outbound)/slow/1000"
        // Six requests at once: curl's parallel transfers, one line each.
        var arguments = ["-Z", "--parallel-immediate", "--parallel-max", "6", "-H", "Host: web", "-w", "%{http_code} %{time_total} %header{heddle-error}\n"]
        for _ in 0..<6 { arguments += ["-o", "/dev/null", url] }
        let results = try curl(arguments).output.split(separator: "\n").map(String.init)
        let ok = results.filter { $0.hasPrefix("200 ") }
        let refused = results.filter { $0.hasPrefix("503 ") }
        #expect(ok.count == 2 && refused.count == 4, "\(results)")
        for line in refused {
            let parts = line.split(separator: " ")
            #expect(parts.count == 3 && parts[2] == "circuit-open", "\(line)")
            #expect(Double(parts[1]) ?? 9 < 0.5, "refused at once, not queued: \(line)")
        }
        let metrics = try Self.metrics(proxy)
        #expect(Self.value(metrics, "heddle_circuit_open_total{service=\"web\",limit=\"requests\"}") == 4, "\(metrics)")
        #expect(Self.value(metrics, "heddle_proxy_errors_total{reason=\"circuit-open\"}") == 4)
    }

    @Test func theConnectionLimitRefusesANewConnectionButNotAPooledOne() async throws {
        let app = try await Upstream(.http, name: "narrow")
        let proxy = try await HeddleProxyProcess(config: Config.proxy() + Config.service("web", [app.address], extra: "circuitBreaker: {maxConnections: 1}"))
        let url = "http://127.0.0.1:\(proxy.outbound)/slow/500"
        var arguments = ["-Z", "--parallel-immediate", "-H", "Host: web", "-w", "%{http_code} %header{heddle-error}\n"]
        for _ in 0..<2 { arguments += ["-o", "/dev/null", url] }
        let results = try curl(arguments).output.split(separator: "\n").map(String.init).sorted()
        #expect(results == ["200 ", "503 circuit-open"], "\(results)")
        // The one connection, now idle in the pool, serves the next requests.
        for _ in 0..<3 {
            #expect(try curl(["-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: web", "http://127.0.0.1:\(proxy.outbound)/hello"]).output == "200")
        }
        let metrics = try Self.metrics(proxy)
        #expect(Self.value(metrics, "heddle_circuit_open_total{service=\"web\",limit=\"connections\"}") == 1, "\(metrics)")
    }

    @Test func aRateLimitAnswers429WithRetryAfter() async throws {
        let app = try await Upstream(.http, name: "limited")
        let config = Config.proxy() + Config.service("web", [app.address]) + Config.route("web", """
            hostnames: [web]
            rules:
              - backendRefs: [{name: web}]
                filters:
                  - type: RateLimit
                    rateLimit: {requestsPerSecond: 2, burst: 5}
            """)
        let proxy = try await HeddleProxyProcess(config: config)
        let connection = try RawConnection(port: proxy.outbound)
        var statuses: [Int] = []
        var limited: RawResponse?
        for _ in 0..<10 {
            connection.send("GET /hello HTTP/1.1\r\nHost: web\r\n\r\n")
            let response = try connection.readResponse(checkClosed: false)
            statuses.append(response.status)
            if response.status == 429 { limited = response }
        }
        let passed = statuses.filter { $0 == 200 }.count
        #expect(passed >= 5 && passed <= 6, "\(statuses)")
        #expect(statuses.filter { $0 == 429 }.count == 10 - passed, "\(statuses)")
        let refusal = try #require(limited)
        #expect(refusal.headers["heddle-error"] == "rate-limited", "\(refusal.raw)")
        #expect(refusal.headers["retry-after"] == "1", "\(refusal.raw)")
        let metrics = try Self.metrics(proxy)
        #expect(Self.value(metrics, "heddle_proxy_errors_total{reason=\"rate-limited\"}") == Double(10 - passed))
    }

    @Test func faultInjectionAbortsAndDelaysItsShare() async throws {
        let app = try await Upstream(.http, name: "chaos")
        let config = Config.proxy() + Config.service("web", [app.address]) + Config.route("web", """
            hostnames: [web]
            rules:
              - matches: [{path: {type: PathPrefix, value: /slowly}}]
                backendRefs: [{name: web}]
                filters:
                  - type: Fault
                    fault: {delay: {percent: 100, duration: 300ms}}
                  - type: URLRewrite
                    urlRewrite: {path: {type: ReplaceFullPath, replaceFullPath: /hello}}
              - backendRefs: [{name: web}]
                filters:
                  - type: Fault
                    fault: {abort: {percent: 50, status: 418}}
            """)
        let proxy = try await HeddleProxyProcess(config: config)
        let summary = try await Self.load(proxy.outbound, host: "web", seconds: 2, connections: 2, rate: 200)
        let statuses = try #require(summary["statuses"] as? [String: Int])
        let total = statuses.values.reduce(0, +)
        let aborted = statuses["418"] ?? 0
        #expect(total >= 300 && statuses.keys.sorted() == ["200", "418"], "\(summary)")
        // Half, within four standard deviations (√(n/4) each).
        let sigma = (Double(total) / 4).squareRoot()
        #expect(abs(Double(aborted) - Double(total) / 2) < 4 * sigma, "\(summary)")
        #expect((summary["errors"] as? [String: Int])?["fault-injected"] == aborted, "\(summary)")
        let delayed = try curl(["-o", "/dev/null", "-H", "Host: web", "-w", "%{http_code} %{time_total}", "http://127.0.0.1:\(proxy.outbound)/slowly"]).output
        let parts = delayed.split(separator: " ")
        #expect(parts.first == "200" && (Double(parts.last ?? "") ?? 0) >= 0.29, "\(delayed)")
        let metrics = try Self.metrics(proxy)
        #expect(Self.value(metrics, "heddle_faults_injected_total{route=\"web#1\",kind=\"abort\"}") == Double(aborted), "\(metrics)")
        #expect(Self.value(metrics, "heddle_faults_injected_total{route=\"web#0\",kind=\"delay\"}") == 1, "\(metrics)")
    }

    /// A backend whose only instance hangs: the retry of the first timed-out request goes to the
    /// failover service, the instance is ejected and its share goes there too; once it answers
    /// again and its ejection ends, traffic comes back.
    @Test func aBackendWithNoEndpointLeftFailsOverAndComesBack() async throws {
        let primary = try await Upstream(.http, name: "primary")
        let standby = try await Upstream(.http, name: "standby")
        let config = Config.proxy()
            + Config.service("shop-a", [primary.address], extra: "outlierDetection: {consecutiveFailures: 2, baseEjectionTime: 1s}")
            + Config.service("shop-b", [standby.address])
            + Config.route("shop", """
                hostnames: [shop]
                rules:
                  - backendRefs: [{name: shop-a, failover: shop-b}]
                    timeouts: {request: 5s, backendRequest: 200ms}
                    retry: {attempts: 2, on: [connect-failure, reset, per-try-timeout]}
                """)
        let proxy = try await HeddleProxyProcess(config: config)
        let before = try await Self.load(proxy.outbound, host: "shop", seconds: 1, connections: 2, rate: 50)
        #expect((before["served"] as? [String: Int])?.keys.sorted() == ["primary"], "\(before)")

        primary.child.signal(SIGSTOP)
        let during = try await Self.load(proxy.outbound, host: "shop", seconds: 1.5, connections: 2, rate: 50)
        primary.child.signal(SIGCONT)
        #expect(during["exceptions"] as? Int == 0, "\(during)")
        #expect((during["statuses"] as? [String: Int])?.keys.sorted() == ["200"], "\(during)")
        #expect(((during["served"] as? [String: Int])?["standby"] ?? 0) >= 60, "\(during)")
        let metrics = try Self.metrics(proxy)
        // Ejected (again when a 1 s ejection ran out while it still hung).
        #expect((Self.value(metrics, "heddle_outlier_ejections_total{service=\"shop-a\",reason=\"consecutive-failures\"}") ?? 0) >= 1, "\(metrics)")

        // The ejection ends (1 s, or 2 s for a second one that began late in the hang); the
        // primary answers again and takes its traffic back. On a loaded machine the second
        // ejection may still run for part of the first second: up to four seconds of load.
        try await Task.sleep(for: .milliseconds(1500))
        var after: [String: Any] = [:]
        for _ in 0..<4 {
            after = try await Self.load(proxy.outbound, host: "shop", seconds: 1, connections: 2, rate: 50)
            #expect(after["exceptions"] as? Int == 0, "\(after)")
            if ((after["served"] as? [String: Int])?["primary"] ?? 0) >= 40 { break }
        }
        #expect(((after["served"] as? [String: Int])?["primary"] ?? 0) >= 40, "\(after)")
    }
}
