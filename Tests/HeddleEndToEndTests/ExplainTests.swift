import Foundation
import Testing

/// `heddle explain` through the real binary: for each kind of failure, the control plane
/// gathers what the proxies remember of the request and names where and why it failed.
@Suite(.serialized)
struct ExplainTests {
    static func explain(_ cp: ControlPlaneProcess, _ id: String) async throws -> [String: Any] {
        let result = try await cp.cli(["explain", id, "-o", "json"])
        #expect(result.status == 0, "\(result.output)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any], "\(result.output)")
    }

    static func requestID(_ response: String) throws -> String {
        try #require(RawConnection.parse(response).headers["heddle-request-id"], "no heddle-request-id in \(response)")
    }

    @Test func explainNamesWhereAndWhyEachKindOfFailureHappened() async throws {
        let collector = try await OTLPReceiver()
        let cp = try await ControlPlaneProcess()
        let apiApp = try await Upstream(.http, name: "api")
        let webApp = try await Upstream(.http, name: "web")
        // Tracing at rate 0: nothing is sampled, but every hop of a request shares its trace id,
        // which is the id a failure is remembered by.
        let tracing = ["--trace-collector", collector.url, "--trace-sample-rate", "0"]
        _ = try await SidecarProcess(controlPlane: cp.url, service: "api", appPort: apiApp.port, extra: tracing)
        let web = try await SidecarProcess(controlPlane: cp.url, service: "web", appPort: webApp.port, extra: tracing)
        try await Task.sleep(for: .milliseconds(500))
        let url = "http://127.0.0.1:\(web.outbound)"

        // No route: web's proxy refused it, and said so with the id.
        let noRoute = try curl(["-i", "-H", "Host: nowhere", "\(url)/x"])
        let noRouteExplained = try await Self.explain(cp, try Self.requestID(noRoute.output))
        #expect(noRouteExplained["reason"] as? String == "no-route", "\(noRouteExplained)")
        #expect((noRouteExplained["verdict"] as? String)?.contains("failed at the proxy of web-") == true, "\(noRouteExplained)")
        #expect(((noRouteExplained["advice"] as? [String])?.first)?.contains("No route") == true)

        // Before sending: what web's proxy would do with a request to api, and to nowhere.
        let preview = try await cp.cli(["explain", "--from", "web", "--host", "api", "--path", "/orders?id=7", "-H", "x-user: 1", "-o", "json"])
        #expect(preview.status == 0, "\(preview.output)")
        let described = try #require(try JSONSerialization.jsonObject(with: Data(preview.output.utf8)) as? [String: Any], "\(preview.output)")
        #expect(described["route"] as? String == "api#0", "\(described)")
        #expect(described["failure"] == nil, "\(described)")
        #expect((described["instance"] as? String)?.hasPrefix("web-") == true)
        let backend = try #require((described["backends"] as? [[String: Any]])?.first, "\(described)")
        #expect(backend["service"] as? String == "api")
        #expect(backend["healthyInstances"] as? Int == 1 && backend["instances"] as? Int == 1, "\(backend)")
        let endpoint = try #require((backend["endpoints"] as? [[String: Any]])?.first)
        #expect(endpoint["state"] as? String == "available")
        #expect(endpoint["identity"] as? String == "spiffe://heddle.local/service/api")
        let nowhere = try await cp.cli(["explain", "--from", "web", "--host", "nowhere"])
        #expect(nowhere.status == 0 && nowhere.output.contains("would fail: no-route: no route for host 'nowhere' path '/'"), "\(nowhere.output)")
        let readable = try await cp.cli(["explain", "--from", "web", "--host", "api"])
        #expect(readable.output.contains("route api#0: timeout") && readable.output.contains("→ api (weight"), "\(readable.output)")
        let noCaller = try await cp.cli(["explain", "--from", "ghost", "--host", "api"])
        #expect(noCaller.status != 0 && noCaller.output.contains("service 'ghost' has no registered instance"), "\(noCaller.output)")

        // The app answered 503: found by the caller's trace id on both hops; no proxy to blame.
        let trace = "4bf92f3577b34da6a3ce929d0e0e4736"
        _ = try curl(["-H", "Host: api", "-H", "traceparent: 00-\(trace)-00f067aa0ba902b7-00", "\(url)/status/503"])
        let appFailure = try await Self.explain(cp, trace)
        #expect(appFailure["reason"] == nil || appFailure["reason"] is NSNull, "\(appFailure)")
        #expect((appFailure["verdict"] as? String)?.contains("failed in the app of api-") == true, "\(appFailure)")
        let hops = try #require(appFailure["hops"] as? [[String: Any]])
        // web's proxy retried the 503 (a GET is safe to retry): api's proxy saw each attempt.
        #expect(hops.first?["direction"] as? String == "outbound", "\(hops)")
        let attempts = hops.dropFirst()
        #expect(!attempts.isEmpty && attempts.allSatisfy { $0["direction"] as? String == "inbound" }, "\(hops)")
        #expect(attempts.count == (hops.first?["retries"] as? Int ?? 0) + 1, "one inbound record per attempt: \(hops)")
        #expect(hops.last?["source"] as? String == "spiffe://heddle.local/service/web")

        // Denied by an AuthorizationPolicy of api: api's proxy refused web.
        let policy = try await cp.apply("""
            apiVersion: heddle.dev/v1alpha1
            kind: AuthorizationPolicy
            metadata:
              name: api-allow-ops
            spec:
              targetService: api
              action: ALLOW
              rules:
                - from:
                    services: [ops]
            """)
        #expect(policy.status == 0, "\(policy.output)")
        var denied = ""
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            denied = try curl(["-i", "-H", "Host: api", "\(url)/hello"]).output
            if denied.hasPrefix("HTTP/1.1 403") { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        let deniedExplained = try await Self.explain(cp, try Self.requestID(denied))
        #expect(deniedExplained["reason"] as? String == "denied-by-policy", "\(deniedExplained)")
        #expect((deniedExplained["verdict"] as? String)?.contains("failed at the proxy of api-") == true && (deniedExplained["verdict"] as? String)?.contains("receiving it") == true, "\(deniedExplained)")
        #expect(((deniedExplained["advice"] as? [String])?.first)?.contains("spiffe://heddle.local/service/web") == true, "\(deniedExplained)")
        _ = try await cp.cli(["delete", "AuthorizationPolicy", "api-allow-ops"])

        // A route's injected fault, its rate limit and its timeout: each named by its reason.
        let routes = try await cp.apply("""
            apiVersion: heddle.dev/v1alpha1
            kind: Service
            metadata: {name: api}
            spec: {endpoints: []}
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: chaos}
            spec:
              hostnames: [chaos]
              rules:
                - filters:
                    - type: Fault
                      fault: {abort: {percent: 100, status: 503}}
                  backendRefs: [{name: api}]
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: limited}
            spec:
              hostnames: [limited]
              rules:
                - filters:
                    - type: RateLimit
                      rateLimit: {requestsPerSecond: 1, burst: 1}
                  backendRefs: [{name: api}]
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: slow}
            spec:
              hostnames: [slow]
              rules:
                - backendRefs: [{name: api}]
                  timeouts: {request: 300ms}
            """)
        #expect(routes.status == 0, "\(routes.output)")
        for (host, path, reason) in [("chaos", "/hello", "fault-injected"), ("limited", "/hello", "rate-limited")] {
            var response = ""
            let until = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < until {
                response = try curl(["-i", "-H", "Host: \(host)", "\(url)\(path)"]).output
                if response.contains("heddle-error: \(reason)") { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            let explained = try await Self.explain(cp, try Self.requestID(response))
            #expect(explained["reason"] as? String == reason, "\(host): \(explained)")
            #expect((explained["verdict"] as? String)?.contains("failed at the proxy of web-") == true, "\(host): \(explained)")
            #expect((explained["advice"] as? [String])?.isEmpty == false)
        }
        // The route's timeout travels to api's proxy as a deadline: whichever proxy gives up
        // first, explain names the one closest to the slow app that did, with its reason.
        var slow = ""
        let slowUntil = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < slowUntil {
            slow = try curl(["-i", "-H", "Host: slow", "\(url)/slow/3000"]).output
            if slow.hasPrefix("HTTP/1.1 504") { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        let timedOut = try await Self.explain(cp, try Self.requestID(slow))
        let timeoutReason = try #require(timedOut["reason"] as? String, "\(timedOut)")
        #expect(["upstream-timeout", "deadline-exceeded"].contains(timeoutReason), "\(timedOut)")
        let blamed = timeoutReason == "deadline-exceeded" ? "api-" : "web-"
        #expect((timedOut["verdict"] as? String)?.contains("failed at the proxy of \(blamed)") == true, "\(timedOut)")

        // The app is down: api's proxy cannot connect to it; the text form says so.
        apiApp.child.stop()
        var down = ""
        let downDeadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < downDeadline {
            down = try curl(["-i", "-H", "Host: api", "\(url)/hello"]).output
            if down.contains("heddle-error: connect-failed") { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        let text = try await cp.cli(["explain", try Self.requestID(down)])
        #expect(text.status == 0, "\(text.output)")
        #expect(text.output.contains("failed at the proxy of api-") && text.output.contains("connect-failed"), "\(text.output)")
        #expect(text.output.contains("What each proxy saw:") && text.output.contains("INSTANCE"), "\(text.output)")

        // An id no proxy remembers, and one that is not an id.
        let unknown = try await cp.cli(["explain", String(repeating: "a", count: 32)])
        #expect(unknown.status != 0 && unknown.output.contains("no proxy remembers a failed request"), "\(unknown.output)")
        let invalid = try await cp.cli(["explain", "not-an-id"])
        #expect(invalid.status != 0 && invalid.output.contains("is not a request id"), "\(invalid.output)")
    }

    /// The failure kinds left: an empty service, a breaker, a spent retry budget, a reset and
    /// a peer that is not who it should be — each named by `heddle explain` with the proxy
    /// that made it.
    @Test func explainNamesBreakerBudgetResetEmptyServiceAndIdentityFailures() async throws {
        let collector = try await OTLPReceiver()
        let cp = try await ControlPlaneProcess()
        let apiApp = try await Upstream(.http, name: "api")
        let webApp = try await Upstream(.http, name: "web")
        let tracing = ["--trace-collector", collector.url, "--trace-sample-rate", "0"]
        let api = try await SidecarProcess(controlPlane: cp.url, service: "api", appPort: apiApp.port, extra: tracing)
        let web = try await SidecarProcess(controlPlane: cp.url, service: "web", appPort: webApp.port, extra: tracing)
        let applied = try await cp.apply("""
            apiVersion: heddle.dev/v1alpha1
            kind: Service
            metadata: {name: empty}
            spec: {endpoints: []}
            ---
            apiVersion: heddle.dev/v1alpha1
            kind: Service
            metadata: {name: tight}
            spec:
              protocol: http1
              endpoints: [{address: "\(apiApp.address)"}]
              circuitBreaker: {maxRequests: 1}
            ---
            apiVersion: heddle.dev/v1alpha1
            kind: Service
            metadata: {name: stingy}
            spec:
              protocol: http1
              endpoints: [{address: "\(apiApp.address)"}]
              retryBudget: {ratio: 0, minRetriesPerSecond: 0}
            """)
        #expect(applied.status == 0, "\(applied.output)")
        // An instance registered as pay at api's address: api's proxy proves it is api.
        let pay = #"{"service":"pay","address":"127.0.0.1","port":\#(api.inbound),"mutualTLS":true,"leaseSeconds":300}"#
        _ = try curl(["-H", "Content-Type: application/json", "-d", pay, "\(cp.url)/v1/instances"])
        let url = "http://127.0.0.1:\(web.outbound)"

        /// Sends `path` to `host` until the answer carries `reason`; the explanation of it.
        func explained(_ host: String, _ path: String, _ reason: String, trace: String? = nil) async throws -> [String: Any] {
            var response = ""
            for _ in 0..<50 {
                var arguments = ["-i", "-H", "Host: \(host)"]
                if let trace { arguments += ["-H", "traceparent: 00-\(trace)-00f067aa0ba902b7-00"] }
                response = try curl(arguments + ["\(url)\(path)"]).output
                if response.contains("heddle-error: \(reason)") { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(response.contains("heddle-error: \(reason)"), "\(host): \(response)")
            return try await Self.explain(cp, try trace ?? Self.requestID(response))
        }

        let empty = try await explained("empty", "/", "no-endpoints")
        #expect(empty["reason"] as? String == "no-endpoints", "\(empty)")
        #expect((empty["verdict"] as? String)?.contains("failed at the proxy of web-") == true, "\(empty)")

        let reset = try await explained("api", "/close", "upstream-reset")
        #expect(reset["reason"] as? String == "upstream-reset", "\(reset)")
        #expect((reset["verdict"] as? String)?.contains("failed at the proxy of api-") == true, "the reset happened between api's proxy and its app: \(reset)")

        let identity = try await explained("pay", "/hello", "upstream-tls-failed")
        #expect(identity["reason"] as? String == "upstream-tls-failed", "\(identity)")
        #expect((identity["verdict"] as? String)?.contains("failed at the proxy of web-") == true, "\(identity)")

        // One slow request holds the breaker's only slot; the next is refused at once. The slow
        // one is a process of its own (started now, not when the task pool gets to it) and
        // lasts long enough for a loaded machine.
        let slow = try ChildProcess(name: "slow-tight", executable: TestSupport.which("curl") ?? "/usr/bin/curl", arguments: ["-s", "-o", "/dev/null", "-H", "Host: tight", "\(url)/slow/8000"])
        try await Task.sleep(for: .milliseconds(500))
        let breaker = try await explained("tight", "/hello", "circuit-open")
        #expect(breaker["reason"] as? String == "circuit-open", "\(breaker)")
        #expect((breaker["verdict"] as? String)?.contains("failed at the proxy of web-") == true, "\(breaker)")
        slow.stop()

        // The app's 503 would be retried, but the budget allows none: marked, and explained.
        let budget = try await explained("stingy", "/status/503", "retry-budget-exhausted", trace: "5bf92f3577b34da6a3ce929d0e0e4737")
        #expect(budget["reason"] as? String == "retry-budget-exhausted", "\(budget)")
        #expect((budget["verdict"] as? String)?.contains("web-") == true, "\(budget)")
    }
}
