import Foundation
import Testing

/// `heddle top` through the real binary: the control plane reads the sidecars' metrics and the
/// CLI shows the traffic as JSON, as a plain table, and live in a terminal.
@Suite(.serialized)
struct TopTests {
    @Test func topShowsTheMeshsTrafficAsJSONTableAndLiveInATerminal() async throws {
        let cp = try await ControlPlaneProcess()
        let mesh = try await WebAPIMesh(controlPlane: cp)
        let web = mesh.web
        // Someone opens top: from then on the control plane reads the proxies every second.
        let first = try await cp.cli(["top", "-o", "json"])
        #expect(first.status == 0, "\(first.output)")
        try await Task.sleep(for: .milliseconds(1500))

        // Traffic from web's app to api (and some 503s), while top reads.
        let ok = (0..<40).map { _ in "http://127.0.0.1:\(web.outbound)/hello" }
        let failing = (0..<10).map { _ in "http://127.0.0.1:\(web.outbound)/status/503" }
        let sent = try curl(["-s", "-o", "/dev/null", "-w", "%{http_code}\n", "-H", "Host: api"] + ok + failing)
        #expect(sent.output.split(separator: "\n").filter { $0 == "200" }.count == 40, "\(sent.output)")
        // The proxies count a request as it completes; the next reading (within a second)
        // has them all.
        try await Task.sleep(for: .milliseconds(1200))

        let json = try await cp.cli(["top", "-o", "json", "--window", "30"])
        #expect(json.status == 0, "\(json.output)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any], "\(json.output)")
        let services = try #require(report["services"] as? [[String: Any]])
        #expect(Set(services.compactMap { $0["name"] as? String }).isSuperset(of: ["api", "web", "quiet"]), "\(services)")
        let api = try #require(services.first { $0["name"] as? String == "api" })
        let callers = try #require(api["callers"] as? [String: Any])
        #expect((callers["requestsPerSecond"] as? Double ?? 0) > 0, "\(api)")
        let success = try #require(callers["successRate"] as? Double, "\(api)")
        #expect(abs(success - 0.8) < 0.001, "40 of 50 succeeded: \(success)")
        #expect(callers["p99Milliseconds"] as? Double != nil)
        #expect((api["inbound"] as? [String: Any])?["requestsPerSecond"] as? Double ?? 0 > 0)
        #expect(api["healthyInstances"] as? Int == 1)
        let quiet = try #require(services.first { $0["name"] as? String == "quiet" })
        #expect((quiet["callers"] as? [String: Any])?["requestsPerSecond"] as? Double == 0)
        #expect((quiet["callers"] as? [String: Any])?["successRate"] == nil, "no traffic is not 0 % success")
        #expect(report["proxiesRead"] as? Int == 2, "\(report)")
        let routes = try #require(report["routes"] as? [[String: Any]])
        #expect(routes.contains { $0["backend"] as? String == "api" }, "\(routes)")

        // Not a terminal: one table.
        let table = try await cp.cli(["top", "--window", "30", "--sort", "name"])
        #expect(table.status == 0, "\(table.output)")
        let lines = table.output.split(separator: "\n")
        #expect(lines.first?.hasPrefix("SERVICE") == true, "\(table.output)")
        #expect(lines.contains { $0.hasPrefix("api ") && $0.contains("80.00 %") }, "\(table.output)")
        #expect(lines.contains { $0.hasPrefix("quiet ") && $0.contains("0/0") }, "\(table.output)")
        let byRoute = try await cp.cli(["top", "--by", "routes", "--window", "30"])
        #expect(byRoute.output.hasPrefix("ROUTE"), "\(byRoute.output)")

        // In a terminal: it refreshes, `v` switches to routes, `q` quits (and restores the terminal).
        let python = TestSupport.python()
        var arguments = ["\(TestSupport.fixtures)/pty_run.py", "wait:2.5,key:v,wait:1.5,key:q", "--", TestSupport.heddleBinary, "top", "--window", "30", "--control-plane", cp.url]
        if python == "/usr/bin/env" { arguments.insert("python3", at: 0) }
        let live = try ChildProcess(name: "top-pty", executable: python, arguments: arguments)
        #expect(await live.waitForExit(timeout: .seconds(30)) == 0)
        let screen = live.stdout
        #expect(screen.hasSuffix("EXIT 0\n"), "\(screen.suffix(400))")
        #expect(screen.contains("heddle top — \(cp.url)"), "\(screen.suffix(800))")
        #expect(screen.components(separatedBy: "\u{1B}[2J").count >= 3, "refreshed more than once")
        #expect(screen.contains("SERVICE") && screen.contains("ROUTE"), "v switched to routes: \(screen.suffix(800))")
        #expect(screen.contains("\u{1B}[?25h"), "the cursor is shown again on exit")

        // Bad input is refused with the reason.
        let bad = try await cp.cli(["top", "--sort", "color"])
        #expect(bad.status != 0 && bad.output.contains("--sort must be one of name, rps, success, p50, p99, inflight, retries, not 'color'"), "\(bad.output)")
    }
}
