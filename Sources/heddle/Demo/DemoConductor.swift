import AsyncHTTPClient
import Foundation
import HeddleCore
import HeddleStats
import ServiceLifecycle

/// Runs the demo's story once the sidecars are up: waits until the mesh carries a request,
/// starts the load, shows the view every second, injects the failure of one instance midway
/// and heals it, and at the end (or on Ctrl-C) stops the load and prints what happened.
struct DemoConductor: Service {
    let mesh: DemoMesh
    /// Seconds of traffic; 0 runs until Ctrl-C.
    let duration: Int
    let rate: Int
    let injectFailure: Bool
    /// Redraw in place (a terminal) rather than print a frame every few seconds.
    let live: Bool
    let http: HTTPClient = .shared

    /// When the failure starts and ends, in seconds of traffic.
    var failureWindow: (start: Int, end: Int)? {
        guard injectFailure else { return nil }
        return duration > 0 ? (max(3, duration * 35 / 100), max(4, duration * 70 / 100)) : (20, 40)
    }

    func run() async throws {
        guard let loadgen = mesh.member("loadgen"), let failing = mesh.member(DemoTopology.failingInstance) else { return }
        do {
            guard try await cancelWhenGracefulShutdown({ try await self.waitUntilTheMeshCarriesARequest(loadgen) }) else { return }
        } catch is CancellationError {
            return
        }
        guard let port = loadgen.outboundPort else { return }

        let generator = LoadGenerator(rate: rate, outboundPort: port, http: http)
        let baseline = await MeshScrape.take(mesh.members, http: http)
        let load = Task { await generator.run() }
        let started = ContinuousClock.now
        try? await cancelWhenGracefulShutdown {
            try await self.timeline(from: baseline, started: started, failing: failing, tally: generator.tally)
        }
        load.cancel()
        await load.value
        failing.failure.set(false)
        let final = await MeshScrape.take(mesh.members, http: http)
        summarise(from: baseline, to: final, seconds: Int((ContinuousClock.now - started).components.seconds), tally: generator.tally.value)
    }

    /// The view each second, and the failure injected and healed on time.
    private func timeline(from baseline: MeshScrape, started: ContinuousClock.Instant, failing: DemoMesh.Member, tally: Locked<LoadGenerator.Tally>) async throws {
        var scrapes = [baseline]
        var failingNow = false
        var printedAt = 0
        var second = 0
        while duration == 0 || second < duration {
            try await Task.sleep(until: started + .seconds(second + 1))
            second += 1
            if let window = failureWindow {
                if second == window.start {
                    failing.failure.set(true)
                    failingNow = true
                    event(second, "\(failing.instance.name)'s app starts answering 503 to every request (injected failure)")
                } else if second == window.end {
                    failing.failure.set(false)
                    failingNow = false
                    event(second, "\(failing.instance.name) recovers; outlier detection lets it back when its ejection time is over")
                }
            }
            scrapes.append(await MeshScrape.take(mesh.members, http: http))
            if scrapes.count > DemoView.window + 1 { scrapes.removeFirst() }
            if live || second - printedAt >= 5 || second == duration {
                printedAt = second
                show(scrapes, second: second, failing: failingNow ? failing.instance.name : nil, tally: tally.value)
            }
        }
    }

    /// Sends single requests until one succeeds end to end (every sidecar registered and
    /// configured); false when shutdown came first. Gives up after 30 s with the last failure.
    private func waitUntilTheMeshCarriesARequest(_ loadgen: DemoMesh.Member) async throws -> Bool {
        let start = ContinuousClock.now
        var port: Int?
        while port == nil, ContinuousClock.now - start < .seconds(10) {
            port = loadgen.outboundPort
            if port == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        guard let port else { throw DemoError("the loadgen sidecar did not bind its outbound listener") }
        let probe = LoadGenerator(rate: 1, outboundPort: port, http: http)
        var lastFailure = "no answer"
        while ContinuousClock.now - start < .seconds(30) {
            guard let failure = await probe.send(path: "/profile/0") else {
                let elapsed = ContinuousClock.now - start
                say("The mesh carries traffic (\(String(format: "%.1f", Double(elapsed.nanosecondsClamped) / 1e9)) s after start): sending \(rate) requests/s to web through the loadgen sidecar.")
                if let window = failureWindow {
                    say("At \(window.start) s, \(DemoTopology.failingInstance) will start failing; the api sidecars retry it away and eject it; at \(window.end) s it recovers.")
                }
                let flag = mesh.controlPlaneURL == "http://127.0.0.1:7470" ? "" : " --control-plane \(mesh.controlPlaneURL)"
                say("Dashboard: \(mesh.controlPlaneURL)/ in a browser. In another terminal: heddle top\(flag), heddle tap web\(flag).")
                say(duration > 0 ? "Running for \(duration) s (Ctrl-C stops earlier).\n" : "Running until Ctrl-C.\n")
                return true
            }
            lastFailure = failure
            try await Task.sleep(for: .milliseconds(200))
        }
        throw DemoError("the mesh did not carry a request from loadgen to web within 30 s; the last attempt: \(lastFailure)")
    }

    private func show(_ scrapes: [MeshScrape], second: Int, failing: String?, tally: LoadGenerator.Tally) {
        guard let first = scrapes.first, let last = scrapes.last else { return }
        let of = duration > 0 ? " of \(duration)" : ""
        var header = "Heddle demo · \(second) s\(of) · control plane \(mesh.controlPlaneURL) · \(rate) req/s to web"
        if let window = failureWindow {
            header += "\n\(DemoTopology.failingInstance) fails from \(window.start) s to \(window.end) s; Ctrl-C stops the demo"
        }
        let frame = DemoView.frame(from: first, to: last, header: header, failing: failing, tally: tally)
        if live {
            say("\u{1B}[H\u{1B}[J" + frame)
        } else {
            say(frame + "\n")
        }
    }

    private func event(_ second: Int, _ text: String) {
        if !live { say("[\(second) s] \(text)\n") }
    }

    private func summarise(from baseline: MeshScrape, to final: MeshScrape, seconds: Int, tally: LoadGenerator.Tally) {
        var lines = ["", "Summary of \(seconds) s of traffic:"]
        let rate = tally.requests > 0 ? DemoView.percent(Double(tally.succeeded) / Double(tally.requests), digits: 2) : "-"
        lines.append("  the load generator sent \(tally.requests) requests to web; \(tally.succeeded) succeeded (\(rate))")
        for (failure, count) in tally.failures.sorted(by: { $0.value > $1.value }).prefix(5) {
            lines.append("    \(count)× \(failure)")
        }
        let before = baseline.byRoute
        let routes = final.byRoute.filter { $0.key.route == "users" }.map { ($0.key.backend, $0.value.since(before[$0.key] ?? RequestCounters()).requests) }
        let total = routes.reduce(0) { $0 + $1.1 }
        if total > 0 {
            let split = routes.sorted { $0.0 < $1.0 }.map { "\($0.0) \(DemoView.percent($0.1 / total, digits: 1))" }.joined(separator: ", ")
            lines.append("  route users split \(Int(total)) requests: \(split)")
        }
        if let window = failureWindow, seconds < window.start {
            lines.append("  (stopped before \(DemoTopology.failingInstance)'s failure, due at \(window.start) s)")
        } else if injectFailure {
            let name = DemoTopology.failingInstance
            let failed = (final.byInstance[name] ?? RequestCounters()).since(baseline.byInstance[name] ?? RequestCounters()).failures
            let retries = Int(final.retries - baseline.retries)
            let ejections = Int(final.ejections - baseline.ejections)
            lines.append("  \(name) answered \(Int(failed)) requests with 503 while it failed; the api sidecars retried \(retries) requests and ejected it \(ejections == 1 ? "once" : "\(ejections) times"),")
            lines.append("  so the load generator saw \(tally.requests - tally.succeeded) failures")
        }
        say(lines.joined(separator: "\n"))
    }
}
