import Foundation
import HeddleCore
import HeddleStats

/// The demo's terminal view: golden metrics (rate, success, p50/p99 latency) per route and
/// backend as the callers' sidecars measured them, and per instance as its own sidecar did,
/// over the last few seconds of scrapes.
struct DemoView {
    /// Seconds of scrapes the rates and percentiles cover.
    static let window = 5

    /// The frame for the traffic between `earlier` and `later`.
    static func frame(from earlier: MeshScrape, to later: MeshScrape, header: String, failing: String?, tally: LoadGenerator.Tally) -> String {
        let seconds = max(0.001, Double((later.time - earlier.time).nanosecondsClamped) / 1e9)
        var lines = [header, ""]
        lines.append("Routes, as the calling sidecars measure them (last \(Int(seconds.rounded())) s)")
        let before = earlier.byRoute
        let now = later.byRoute
        var routeTotals: [String: Double] = [:]
        var routeRows: [(RouteBackend, GoldenMetrics)] = []
        for key in now.keys.sorted() {
            let golden = GoldenMetrics(from: before[key] ?? RequestCounters(), to: now[key]!, seconds: seconds)
            routeTotals[key.route, default: 0] += golden.requestsPerSecond
            routeRows.append((key, golden))
        }
        var rows: [[String]] = []
        for (key, golden) in routeRows {
            let total = routeTotals[key.route] ?? 0
            let share = total > 0 ? Self.percent(golden.requestsPerSecond / total, digits: 1) : "-"
            rows.append([key.route, key.backend, Self.rate(golden.requestsPerSecond), share] + Self.quality(golden))
        }
        lines += table(["ROUTE", "BACKEND", "RPS", "SHARE", "SUCCESS", "P50", "P99"], rows)

        lines.append("")
        lines.append("Instances, as their own sidecars measure them")
        let instancesBefore = earlier.byInstance
        let instancesNow = later.byInstance
        rows = []
        for instance in DemoTopology.instances where instance.service != "loadgen" {
            guard let counters = instancesNow[instance.name] else {
                rows.append([instance.name, instance.service, "-", "-", "-", "-", ""])
                continue
            }
            let golden = GoldenMetrics(from: instancesBefore[instance.name] ?? RequestCounters(), to: counters, seconds: seconds)
            let note = instance.name == failing ? "← failure injected: its app answers 503" : ""
            rows.append([instance.name, instance.service, Self.rate(golden.requestsPerSecond)] + Self.quality(golden) + [note])
        }
        lines += table(["INSTANCE", "SERVICE", "RPS", "SUCCESS", "P50", "P99", ""], rows)

        lines.append("")
        let retries = max(0, later.retries - earlier.retries) / seconds
        let endToEnd = tally.requests > 0 ? Self.percent(Double(tally.succeeded) / Double(tally.requests), digits: 2) : "-"
        lines.append("Retries \(Self.rate(retries))/s · endpoints ejected now \(Int(later.ejected)) · load generator: \(tally.requests) requests, \(endToEnd) succeeded")
        return lines.joined(separator: "\n")
    }

    /// SUCCESS, P50, P99 cells.
    static func quality(_ golden: GoldenMetrics) -> [String] {
        [golden.successRate.map { percent($0, digits: 2) } ?? "-", golden.p50.map(latency) ?? "-", golden.p99.map(latency) ?? "-"]
    }

    static func rate(_ value: Double) -> String { TopView.rate(value) }

    static func percent(_ share: Double, digits: Int) -> String { TopView.percent(share, digits: digits) }

    static func latency(_ seconds: Double) -> String { TopView.latency(seconds) }

    /// Rows as aligned columns under `header`, indented.
    static func table(_ header: [String], _ rows: [[String]]) -> [String] {
        TopView.table(header, rows).map { "  " + $0 }
    }
}
