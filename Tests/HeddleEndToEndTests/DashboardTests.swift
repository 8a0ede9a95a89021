import Foundation
import Testing

/// The control plane's dashboard, loaded in headless Chromium (Debian `chromium`, driven over
/// the DevTools protocol by `Fixtures/browser.py`): the demo's mesh shows up in the page and in
/// its screenshot (read back with `tesseract`) — and in `heddle top` and `heddle tap` — an
/// ejected endpoint is shown as such, a service
/// without traffic says so, and the page rides out a control-plane restart. `scripts/test.sh`
/// runs them after the rest of the suite, on their own.
@Suite(.serialized)
struct DashboardTests {
    @Test func theDashboardShowsTheDemosServiceGraphMetricsRoutesEndpointsAndCertificates() async throws {
        let demo = try ChildProcess(
            name: "demo-dashboard", executable: TestSupport.heddleBinary,
            arguments: ["demo", "--duration", "0", "--rate", "10", "--control-plane-port", "0", "--view", "plain"])
        defer { demo.stop() }
        let output = try await demo.waitForOutput(timeout: .seconds(60)) { $0.contains("Dashboard: ") }
        let url = try #require(output.split(separator: "\n").first { $0.hasPrefix("Dashboard: ") }?.split(separator: " ").dropFirst().first.map(String.init), "\(output)")
        #expect(url.hasPrefix("http://127.0.0.1:") && url.hasSuffix("/"), "\(url)")

        let directory = TestSupport.scratchDirectory()
        let shot = "\(directory)/dashboard-demo.png"
        let text = "\(directory)/dashboard-demo.txt"
        let browser = try Self.browser(name: "dashboard-demo", [
            "open:\(url)",
            // Traffic on every edge of the demo, the canary split, and the certificates.
            "wait:document.querySelectorAll('#graph g.edge').length >= 4 && !!document.querySelector('#routes [data-backend=\"users-v2\"]') && document.body.innerText.includes('Workload certificates') && document.body.innerText.includes('runs it')",
            "eval:[...document.querySelectorAll('#graph g.edge')].map(e => e.dataset.source + '>' + e.dataset.destination).sort()",
            "eval:[...document.querySelectorAll('#services tr[data-service]')].map(r => [...r.cells].slice(0, 4).map(c => c.innerText))",
            "shot:\(shot)",
            "text:\(text)",
            // users-v1-b fails at 20 s; the api sidecars eject it, and the endpoints say by whom.
            "eval:select('users-v1')",
            "wait:[...document.querySelectorAll('#endpoints td.bad')].some(td => td.innerText.startsWith('ejected by api-'))",
            "eval:[...document.querySelectorAll('#endpoints tr[data-endpoint]')].map(r => r.cells[5].innerText)",
        ])
        let status = await browser.waitForExit(timeout: .seconds(150))
        #expect(status == 0, "\(browser.stdout)\(browser.stderr)")
        let evaluations = Self.evaluations(browser.stdout)
        #expect(evaluations.first as? [String] == ["api>users-v1", "api>users-v2", "loadgen>web", "web>api"], "\(browser.stdout)")
        let rows = try #require(evaluations.dropFirst().first as? [[String]], "\(browser.stdout)")
        #expect(rows.map { $0[0] } == ["api", "loadgen", "users-v1", "users-v2", "web"], "\(rows)")
        let api = try #require(rows.first { $0[0] == "api" })
        #expect(api[1] == "2/2" && Double(api[2]) ?? 0 > 0 && api[3].hasSuffix("%"), "api: healthy, traffic, success \(api)")
        let endpoints = try #require(evaluations.last as? [String], "\(browser.stdout)")
        #expect(endpoints.count == 2 && endpoints.filter { $0.hasPrefix("ejected by api-") }.count == 1, "one of users-v1's two endpoints is ejected: \(endpoints)")

        let page = try String(contentsOfFile: text, encoding: .utf8)
        for expected in ["users#0", "users-v1 weight 90 (90.0 %)", "users-v2 weight 10 (10.0 %)", "HTTPRoute/users", "signer: CN=Heddle root CA", "expires in 24 h"] {
            #expect(page.contains(expected), "the page shows \(expected): \(page)")
        }
        // The screenshot, read back: each of the demo's services has its row.
        let ocr = try Self.recognizedText(shot)
        let firstWords = Set(ocr.split(separator: "\n").compactMap { line in
            line.split(separator: " ").first.map { String($0.drop { !$0.isLetter }).lowercased() }
        })
        for service in ["api", "loadgen", "users-v1", "users-v2", "web"] {
            #expect(firstWords.contains(service), "the screenshot shows \(service)'s row: \(ocr)")
        }

        // heddle top and heddle tap show the same demo's traffic.
        let controlPlane = String(url.dropLast())
        let top = try ChildProcess(name: "demo-top", executable: TestSupport.heddleBinary, arguments: ["top", "-o", "json", "--control-plane", controlPlane])
        #expect(await top.waitForExit(timeout: .seconds(30)) == 0, "\(top.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(top.stdout.utf8)) as? [String: Any], "\(top.stdout)")
        let topServices = (report["services"] as? [[String: Any]]) ?? []
        let web = try #require(topServices.first { $0["name"] as? String == "web" }, "\(report)")
        #expect(((web["callers"] as? [String: Any])?["requestsPerSecond"] as? Double ?? 0) > 0, "web has traffic: \(web)")
        #expect(Set(((report["edges"] as? [[String: Any]]) ?? []).compactMap { $0["destination"] as? String }).isSuperset(of: ["web", "api", "users-v1"]), "\(report)")
        let tap = try ChildProcess(name: "demo-tap", executable: TestSupport.heddleBinary, arguments: ["tap", "users-v1", "-o", "json", "--max", "3", "--control-plane", controlPlane])
        #expect(await tap.waitForExit(timeout: .seconds(30)) == 0, "\(tap.stderr)")
        let events = tap.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(events.count == 3 && events.allSatisfy { $0["direction"] as? String == "inbound" && $0["source"] as? String == "spiffe://heddle.local/service/api" }, "\(tap.stdout)")

        demo.signal(SIGINT)
        #expect(await demo.waitForExit(timeout: .seconds(30)) == 0, "\(demo.stdout.suffix(2000))\(demo.stderr.suffix(2000))")
    }

    @Test func theDashboardSaysWhenAServiceHasNoTrafficAndRidesOutAControlPlaneRestart() async throws {
        var cp = try await ControlPlaneProcess()
        let port = cp.port
        let mesh = try await WebAPIMesh(controlPlane: cp)
        let web = mesh.web
        // Traffic from web to api for as long as the test runs, bounded.
        let traffic = Task {
            for _ in 0..<600 where !Task.isCancelled {
                _ = try? curl(["-s", "-o", "/dev/null", "-H", "Host: api", "http://127.0.0.1:\(web.outbound)/hello"])
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        defer { traffic.cancel() }

        let directory = "\(TestSupport.scratchDirectory())/dashboard-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let browser = try Self.browser(name: "dashboard-restart", [
            "open:\(cp.url)/",
            "wait:!!document.querySelector('#graph g.edge[data-source=\"web\"][data-destination=\"api\"]') && !!document.querySelector('#services tr[data-service=\"quiet\"]')",
            "eval:[...document.querySelector('#services tr[data-service=\"quiet\"]').cells].slice(0, 4).map(c => c.innerText)",
            "eval:document.querySelector('#graph g.node[data-service=\"quiet\"]').textContent",
            "touch:\(directory)/loaded",
            "waitfile:\(directory)/stopped",
            "wait:document.body.classList.contains('down')",
            "eval:[document.getElementById('status').innerText, document.getElementById('banner').innerText, document.querySelectorAll('#services tr[data-service]').length]",
            "touch:\(directory)/seen-down",
            "waitfile:\(directory)/restarted",
            "wait:!document.body.classList.contains('down') && document.getElementById('status').innerText.startsWith('live') && !!document.querySelector('#graph g.edge[data-source=\"web\"][data-destination=\"api\"]')",
            "eval:[...document.querySelectorAll('#services tr[data-service]')].map(r => r.dataset.service)",
            "shot:\(directory)/after-restart.png",
        ])
        defer { browser.stop() }
        try await Self.waitForFile("\(directory)/loaded", browser)
        cp.child.signal(SIGTERM)
        #expect(await cp.child.waitForExit(timeout: .seconds(20)) != nil)
        FileManager.default.createFile(atPath: "\(directory)/stopped", contents: nil)
        try await Self.waitForFile("\(directory)/seen-down", browser)
        cp = try await ControlPlaneProcess(dataDir: cp.dataDir, address: "127.0.0.1:\(port)")
        FileManager.default.createFile(atPath: "\(directory)/restarted", contents: nil)
        let status = await browser.waitForExit(timeout: .seconds(120))
        #expect(status == 0, "\(browser.stdout)\(browser.stderr)")

        let evaluations = Self.evaluations(browser.stdout)
        #expect(evaluations.count == 4, "\(browser.stdout)")
        let quiet = try #require(evaluations.first as? [String], "\(browser.stdout)")
        #expect(quiet == ["quiet", "0/0", "no traffic", "–"], "no traffic is not 0 % success: \(quiet)")
        #expect((evaluations.dropFirst().first as? String)?.contains("no traffic") == true, "\(browser.stdout)")
        let down = try #require(evaluations.dropFirst(2).first as? [Any], "\(browser.stdout)")
        #expect(down.first as? String == "control plane unreachable", "\(down)")
        #expect((down.dropFirst().first as? String)?.contains("The control plane is not answering since") == true, "\(down)")
        #expect(down.last as? Int == 3, "the last data stays on the page while the control plane is away: \(down)")
        let after = try #require(evaluations.last as? [String], "\(browser.stdout)")
        #expect(Set(after) == ["api", "quiet", "web"], "\(after)")
        #expect(FileManager.default.fileExists(atPath: "\(directory)/after-restart.png"))
    }

    /// `browser.py STEPS` as a child process.
    static func browser(name: String, _ steps: [String]) throws -> ChildProcess {
        let python = TestSupport.python()
        var arguments = ["\(TestSupport.fixtures)/browser.py"] + steps
        if python == "/usr/bin/env" { arguments.insert("python3", at: 0) }
        return try ChildProcess(name: name, executable: python, arguments: arguments)
    }

    /// The values of the browser's `eval:` steps, in order.
    static func evaluations(_ output: String) -> [Any] {
        output.split(separator: "\n").filter { $0.hasPrefix("EVAL ") }.map { line in
            (try? JSONSerialization.jsonObject(with: Data(line.dropFirst(5).utf8), options: .fragmentsAllowed)) ?? NSNull()
        }
    }

    /// Waits for the browser to reach a `touch:` step (or fail).
    static func waitForFile(_ path: String, _ browser: ChildProcess) async throws {
        let deadline = ContinuousClock.now + .seconds(90)
        while !FileManager.default.fileExists(atPath: path) {
            guard browser.isRunning, ContinuousClock.now < deadline else {
                throw TestFailure("the browser did not reach \(path):\n\(browser.stdout)\(browser.stderr)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// The text `tesseract` reads in the image at `path`.
    static func recognizedText(_ path: String) throws -> String {
        let tesseract = try #require(TestSupport.which("tesseract"), "tesseract is missing: apt-get install tesseract-ocr")
        let run = Process()
        run.executableURL = URL(fileURLWithPath: tesseract)
        run.arguments = [path, "-"]
        let pipe = Pipe()
        run.standardOutput = pipe
        run.standardError = FileHandle.nullDevice
        try run.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        run.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
