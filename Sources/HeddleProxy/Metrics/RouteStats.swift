import Foundation
import Prometheus

/// The requests of one route rule to one backend on one event loop: counts by status class and
/// a latency histogram, in plain memory that only the loop writes — no lock and no atomic per
/// request (the "metrics recorded without locks"). `/metrics` reads each loop's on the
/// loop itself (`reading`) and adds them up (`RouteStatsText`).
///
/// Kept per loop for the life of the proxy, by labels, so a new configuration keeps counting
/// where the last one stopped (Prometheus counters never go back).
public final class RouteStats {
    public let labels: RouteStatsLabels
    /// 1xx to 5xx, then the histogram's buckets (not cumulative; the last is +Inf).
    private let counts: UnsafeMutableBufferPointer<Int>
    private var sumNanoseconds: Int64 = 0

    /// The buckets' upper bounds in nanoseconds (`ProxyMetrics.latencyBuckets`).
    static let boundsNanoseconds: [Int64] = ProxyMetrics.latencyBuckets.map { bound in
        bound.components.seconds * 1_000_000_000 + bound.components.attoseconds / 1_000_000_000
    }
    private static let classCount = 5
    private static var slotCount: Int { classCount + boundsNanoseconds.count + 1 }

    public init(labels: RouteStatsLabels) {
        self.labels = labels
        counts = .allocate(capacity: Self.slotCount)
        counts.initialize(repeating: 0)
    }

    deinit {
        counts.deallocate()
    }

    /// One finished request: its status class and its latency.
    @inline(__always)
    public func record(status: Int, nanoseconds: Int64) {
        counts[min(max(status / 100, 1), 5) - 1] &+= 1
        // Most requests land in the first buckets: a short walk.
        var bucket = 0
        let bounds = Self.boundsNanoseconds
        while bucket < bounds.count, nanoseconds > bounds[bucket] { bucket += 1 }
        counts[Self.classCount + bucket] &+= 1
        sumNanoseconds &+= nanoseconds
    }

    /// What it has counted so far (read on its loop).
    public var reading: RouteStatsReading {
        RouteStatsReading(
            labels: labels, statusClasses: Array(counts[0..<Self.classCount]), buckets: Array(counts[Self.classCount...]),
            sumNanoseconds: sumNanoseconds)
    }
}

/// The labels of one route's and backend's metrics.
public struct RouteStatsLabels: Hashable, Sendable {
    public let listener: String
    public let route: String
    public let backend: String

    public init(listener: String, route: String, backend: String) {
        self.listener = listener
        self.route = route
        self.backend = backend
    }
}

/// A `RouteStats` read at one moment; the readings of every loop add up.
public struct RouteStatsReading: Sendable {
    public let labels: RouteStatsLabels
    public var statusClasses: [Int]
    /// Not cumulative; the last is +Inf.
    public var buckets: [Int]
    public var sumNanoseconds: Int64

    public var count: Int { buckets.reduce(0, +) }

    mutating func add(_ other: RouteStatsReading) {
        for index in statusClasses.indices { statusClasses[index] += other.statusClasses[index] }
        for index in buckets.indices { buckets[index] += other.buckets[index] }
        sumNanoseconds += other.sumNanoseconds
    }
}

/// The Prometheus text of the route readings: `heddle_requests_total` (by status class) and
/// `heddle_request_duration_seconds` (histogram), as swift-prometheus writes its own families.
enum RouteStatsText {
    static let statusClassNames = ["1xx", "2xx", "3xx", "4xx", "5xx"]

    /// The readings of every loop, added up by labels, in a stable order.
    static func merged(_ readings: [[RouteStatsReading]]) -> [RouteStatsReading] {
        var byLabels: [RouteStatsLabels: RouteStatsReading] = [:]
        for reading in readings.joined() {
            if byLabels[reading.labels] == nil {
                byLabels[reading.labels] = reading
            } else {
                byLabels[reading.labels]!.add(reading)
            }
        }
        return byLabels.values.sorted { ($0.labels.listener, $0.labels.route, $0.labels.backend) < ($1.labels.listener, $1.labels.route, $1.labels.backend) }
    }

    static func render(_ readings: [RouteStatsReading], into text: inout [UInt8]) {
        guard !readings.isEmpty else { return }
        text += Array("# HELP heddle_requests_total HTTP requests, by listener, route, backend and status class\n# TYPE heddle_requests_total counter\n".utf8)
        for reading in readings {
            let labels = labelText(reading.labels)
            for (index, name) in statusClassNames.enumerated() {
                text += Array("heddle_requests_total{\(labels),status_class=\"\(name)\"} \(reading.statusClasses[index])\n".utf8)
            }
        }
        text += Array("# HELP heddle_request_duration_seconds Time from the request head to the end of the response\n# TYPE heddle_request_duration_seconds histogram\n".utf8)
        for reading in readings {
            let labels = labelText(reading.labels)
            var cumulative = 0
            for (index, bound) in ProxyMetrics.latencyBuckets.enumerated() {
                cumulative += reading.buckets[index]
                text += Array("heddle_request_duration_seconds_bucket{\(labels),le=\"\(bound.bucketRepresentation)\"} \(cumulative)\n".utf8)
            }
            let count = reading.count
            text += Array("heddle_request_duration_seconds_bucket{\(labels),le=\"+Inf\"} \(count)\n".utf8)
            text += Array("heddle_request_duration_seconds_sum{\(labels)} \(Duration.nanoseconds(reading.sumNanoseconds).bucketRepresentation)\n".utf8)
            text += Array("heddle_request_duration_seconds_count{\(labels)} \(count)\n".utf8)
        }
    }

    private static func labelText(_ labels: RouteStatsLabels) -> String {
        "listener=\"\(escape(labels.listener))\",route=\"\(escape(labels.route))\",backend=\"\(escape(labels.backend))\""
    }

    /// A label value as the text format wants it: backslash, quote and newline escaped.
    static func escape(_ value: String) -> String {
        guard value.contains(where: { $0 == "\\" || $0 == "\"" || $0 == "\n" }) else { return value }
        return value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}
