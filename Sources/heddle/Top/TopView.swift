import Foundation
import HeddleAPI

/// `heddle top`'s table: one row per service (or per route and backend), sorted by a column.
struct TopView {
    enum Rows: String, CaseIterable {
        case services
        case routes
    }

    enum SortKey: String, CaseIterable {
        case name
        case rps
        case success
        case p50
        case p99
        case inflight
        case retries
    }

    var rows: Rows = .services
    var sort: SortKey = .rps

    /// The lines of the table for `report`.
    func lines(_ report: TopReport) -> [String] {
        switch rows {
        case .services:
            let sorted = report.services.sorted { order($0.name, Self.shown($0), $1.name, Self.shown($1), extra: ($0, $1)) }
            var marked = false
            let rows = sorted.map { service -> [String] in
                let signals = Self.shown(service)
                let fromInbound = signals.requestsPerSecond > 0 && service.callers.requestsPerSecond == 0
                marked = marked || fromInbound
                return [
                    service.name, "\(service.healthyInstances)/\(service.instances)", Self.rate(signals.requestsPerSecond) + (fromInbound ? "*" : ""),
                ] + Self.quality(signals) + [String(service.inFlight), Self.rate(service.retriesPerSecond), String(service.ejectedEndpoints)]
            }
            var lines = Self.table(["SERVICE", "INSTANCES", "RPS", "SUCCESS", "P50", "P99", "IN-FLIGHT", "RETRIES/S", "EJECTED"], rows)
            if marked { lines.append("* as the service's own proxies served it: no mesh caller sent it requests") }
            return lines
        case .routes:
            let sorted = report.routes.sorted { order("\($0.route) \($0.backend)", $0.signals, "\($1.route) \($1.backend)", $1.signals, extra: nil) }
            return Self.table(["ROUTE", "BACKEND", "RPS", "SUCCESS", "P50", "P99"], sorted.map {
                [$0.route, $0.backend, Self.rate($0.signals.requestsPerSecond)] + Self.quality($0.signals)
            })
        }
    }

    /// The frame shown in a terminal: a header, the table, and the keys.
    func frame(_ report: TopReport, controlPlane: String) -> String {
        var lines = [
            "heddle top — \(controlPlane) — last \(Int(report.windowSeconds.rounded())) s — \(report.proxiesRead) proxies read"
                + (report.proxiesUnreachable.isEmpty ? "" : ", \(report.proxiesUnreachable.count) unreachable"),
            "",
        ]
        lines += self.lines(report)
        lines += ["", "sort: \(sort.rawValue) · keys: s sort, v \(rows == .services ? "routes" : "services"), q quit"]
        return lines.joined(separator: "\n")
    }

    /// What a service row shows: its callers' view, or its own proxies' when no mesh caller
    /// sent it anything (a service called from outside the mesh).
    static func shown(_ service: ServiceTraffic) -> GoldenSignals {
        service.callers.requestsPerSecond > 0 ? service.callers : service.inbound
    }

    /// Descending for the numbers (busiest, worst first: lowest success), ascending for names;
    /// ties by name.
    private func order(_ leftName: String, _ left: GoldenSignals, _ rightName: String, _ right: GoldenSignals, extra: (ServiceTraffic, ServiceTraffic)?) -> Bool {
        func byNumber(_ a: Double?, _ b: Double?, descending: Bool = true) -> Bool? {
            let x = a ?? -1
            let y = b ?? -1
            if x == y { return nil }
            return descending ? x > y : x < y
        }
        let decided: Bool? = switch sort {
        case .name: nil
        case .rps: byNumber(left.requestsPerSecond, right.requestsPerSecond)
        case .success: byNumber(left.successRate ?? 2, right.successRate ?? 2, descending: false)
        case .p50: byNumber(left.p50Milliseconds, right.p50Milliseconds)
        case .p99: byNumber(left.p99Milliseconds, right.p99Milliseconds)
        case .inflight: extra.flatMap { byNumber(Double($0.0.inFlight), Double($0.1.inFlight)) }
        case .retries: extra.flatMap { byNumber($0.0.retriesPerSecond, $0.1.retriesPerSecond) }
        }
        return decided ?? (leftName < rightName)
    }

    static func quality(_ signals: GoldenSignals) -> [String] {
        [
            signals.successRate.map { percent($0, digits: 2) } ?? "-",
            signals.p50Milliseconds.map { latency($0 / 1000) } ?? "-",
            signals.p99Milliseconds.map { latency($0 / 1000) } ?? "-",
        ]
    }

    static func rate(_ value: Double) -> String {
        String(format: "%.1f", value)
    }

    static func percent(_ share: Double, digits: Int) -> String {
        String(format: "%.\(digits)f %%", share * 100)
    }

    static func latency(_ seconds: Double) -> String {
        seconds >= 1 ? String(format: "%.2f s", seconds) : String(format: "%.1f ms", seconds * 1000)
    }

    /// Rows as aligned columns under `header`.
    static func table(_ header: [String], _ rows: [[String]]) -> [String] {
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
    }
}
