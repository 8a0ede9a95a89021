import Foundation
import Testing

/// `heddle tap` through the real binary: the control plane relays the live requests a service's
/// proxies see, with caller and callee identities from mutual TLS, filtered and rate-bounded.
@Suite(.serialized)
struct TapTests {
    /// Starts `heddle tap ARGUMENTS` and waits until the tapped proxy counts it open
    /// (`heddle_taps_open`).
    static func tap(_ cp: ControlPlaneProcess, _ arguments: [String], proxy: SidecarProcess) async throws -> ChildProcess {
        let child = try ChildProcess(name: "tap-\(UUID().uuidString.prefix(6))", executable: TestSupport.heddleBinary, arguments: ["tap"] + arguments + ["--control-plane", cp.url])
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            if try curl(["http://127.0.0.1:\(proxy.admin)/metrics"]).output.contains("heddle_taps_open 1") { return child }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("the tap did not open: \(child.stdout)\(child.stderr)")
    }

    static func events(_ child: ChildProcess) throws -> [[String: Any]] {
        try child.stdout.split(separator: "\n").map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw TestFailure("not a JSON object: \(line)")
            }
            return object
        }
    }

    @Test func tapStreamsAServicesRequestsWithIdentitiesFiltersAndLimits() async throws {
        let cp = try await ControlPlaneProcess()
        let apiApp = try await Upstream(.http, name: "api")
        let webApp = try await Upstream(.http, name: "web")
        let api = try await SidecarProcess(controlPlane: cp.url, service: "api", appPort: apiApp.port)
        let web = try await SidecarProcess(controlPlane: cp.url, service: "web", appPort: webApp.port)
        try await Task.sleep(for: .milliseconds(500))
        let url = "http://127.0.0.1:\(web.outbound)"

        // Requests to api, as api's proxy served them: inbound, from web's identity.
        let toAPI = try await Self.tap(cp, ["api", "-o", "json", "--max", "3"], proxy: api)
        _ = try curl(["-s", "-o", "/dev/null", "-H", "Host: api", "\(url)/hello", "\(url)/hello?q=1", "\(url)/status/503"])
        #expect(await toAPI.waitForExit(timeout: .seconds(20)) == 0, "\(toAPI.stdout)\(toAPI.stderr)")
        let received = try Self.events(toAPI)
        #expect(received.count == 3, "\(received)")
        for event in received {
            #expect(event["direction"] as? String == "inbound")
            #expect(event["method"] as? String == "GET")
            #expect(event["source"] as? String == "spiffe://heddle.local/service/web", "\(event)")
            #expect(event["destination"] as? String == "spiffe://heddle.local/service/api", "\(event)")
            #expect((event["instance"] as? String)?.hasPrefix("api-") == true, "\(event)")
            #expect(event["latency_ms"] as? Double != nil)
        }
        #expect(received.map { $0["path"] as? String } == ["/hello", "/hello", "/status/503"], "the query is not shown: \(received)")
        #expect(received.map { $0["status"] as? Int } == [200, 200, 503])

        // Requests web makes, filtered to failures: outbound, to api's endpoint and identity.
        let failures = try await Self.tap(cp, ["web", "-o", "json", "--status", "5xx", "--max", "1"], proxy: web)
        _ = try curl(["-s", "-o", "/dev/null", "-H", "Host: api", "\(url)/hello", "\(url)/status/502"])
        #expect(await failures.waitForExit(timeout: .seconds(20)) == 0, "\(failures.stdout)\(failures.stderr)")
        let failed = try #require(try Self.events(failures).first)
        #expect(failed["direction"] as? String == "outbound")
        #expect(failed["status"] as? Int == 502)
        #expect(failed["backend"] as? String == "api")
        #expect(failed["source"] as? String == "spiffe://heddle.local/service/web")
        #expect(failed["destination"] as? String == "spiffe://heddle.local/service/api", "\(failed)")
        #expect((failed["endpoint"] as? String)?.hasPrefix("127.0.0.1:") == true)

        // A proxy-made failure names its reason; the human format says who called whom.
        let readable = try await Self.tap(cp, ["web", "--path", "/x", "--max", "1"], proxy: web)
        _ = try curl(["-s", "-o", "/dev/null", "-H", "Host: nowhere", "\(url)/x/y"])
        #expect(await readable.waitForExit(timeout: .seconds(20)) == 0, "\(readable.stdout)\(readable.stderr)")
        #expect(readable.stdout.contains(" out GET nowhere/x/y 404 ") && readable.stdout.contains("heddle-error=no-route"), "\(readable.stdout)")

        // Bounded: at most --rate events a second from each proxy; the rest are counted.
        let limited = try await Self.tap(cp, ["api", "-o", "json", "--rate", "2", "--duration", "3"], proxy: api)
        let many = (0..<30).map { _ in "\(url)/hello" }
        _ = try curl(["-s", "-o", "/dev/null", "-H", "Host: api"] + many)
        #expect(await limited.waitForExit(timeout: .seconds(20)) == 0, "\(limited.stderr)")
        let bounded = try Self.events(limited)
        let shown = bounded.filter { $0["status"] != nil }.count
        let skipped = bounded.compactMap { $0["skipped"] as? Int }.reduce(0, +)
        #expect(shown <= 8, "2 a second over about 3 s: \(shown)")
        #expect(shown + skipped == 30, "every request shown or counted: \(shown) + \(skipped)")

        // Bad input is refused with the reason.
        let badStatus = try await cp.cli(["tap", "api", "--status", "9xx"])
        #expect(badStatus.status != 0 && badStatus.output.contains("status must be a status (503) or a class (5xx), not '9xx'"), "\(badStatus.output)")
        let unknown = try await cp.cli(["tap", "nosuch"])
        #expect(unknown.status != 0 && unknown.output.contains("service 'nosuch' has no registered instance to tap"), "\(unknown.output)")
    }
}
