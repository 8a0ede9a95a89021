import Foundation
import Testing

@testable import HeddleProxy

/// The per-event-loop route metrics: what a request records, how the loops' readings add up,
/// and the Prometheus text `/metrics` serves (the families swift-prometheus wrote before).
@Suite("RouteStats")
struct RouteStatsTests {
    static let labels = RouteStatsLabels(listener: "outbound", route: "users#0", backend: "users-v1")

    @Test("A request counts in its status class and in the first bucket its latency fits (le: at most the bound)")
    func recording() {
        let stats = RouteStats(labels: Self.labels)
        stats.record(status: 200, nanoseconds: 100_000)  // 0.1 ms
        stats.record(status: 204, nanoseconds: 500_000)  // exactly the first bound, 0.5 ms
        stats.record(status: 503, nanoseconds: 700_000)  // 0.7 ms: the 1 ms bucket
        stats.record(status: 404, nanoseconds: 40_000_000_000)  // 40 s: only +Inf
        stats.record(status: 99, nanoseconds: 0)  // a status below 100 counts as 1xx
        let reading = stats.reading
        #expect(reading.statusClasses == [1, 2, 0, 1, 1])
        #expect(reading.buckets.count == ProxyMetrics.latencyBuckets.count + 1)
        #expect(reading.buckets[0] == 3 && reading.buckets[1] == 1 && reading.buckets.last == 1)
        #expect(reading.count == 5)
        #expect(reading.sumNanoseconds == 40_001_300_000)
    }

    @Test("The loops' readings add up by labels, and render as a counter family and a cumulative histogram")
    func mergingAndText() {
        let first = RouteStats(labels: Self.labels)
        let second = RouteStats(labels: Self.labels)
        let other = RouteStats(labels: RouteStatsLabels(listener: "inbound", route: "inbound#0", backend: "app"))
        first.record(status: 200, nanoseconds: 300_000)
        second.record(status: 200, nanoseconds: 1_500_000)
        second.record(status: 500, nanoseconds: 1_500_000)
        other.record(status: 200, nanoseconds: 1_000)
        let merged = RouteStatsText.merged([[first.reading, other.reading], [second.reading]])
        #expect(merged.map(\.labels.listener) == ["inbound", "outbound"])
        var bytes: [UInt8] = []
        RouteStatsText.render(merged, into: &bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        let labels = #"listener="outbound",route="users#0",backend="users-v1""#
        for line in [
            "# TYPE heddle_requests_total counter",
            "heddle_requests_total{\(labels),status_class=\"2xx\"} 2",
            "heddle_requests_total{\(labels),status_class=\"5xx\"} 1",
            "heddle_requests_total{\(labels),status_class=\"4xx\"} 0",
            "# TYPE heddle_request_duration_seconds histogram",
            "heddle_request_duration_seconds_bucket{\(labels),le=\"0.0005\"} 1",
            "heddle_request_duration_seconds_bucket{\(labels),le=\"0.001\"} 1",
            "heddle_request_duration_seconds_bucket{\(labels),le=\"0.002\"} 3",
            "heddle_request_duration_seconds_bucket{\(labels),le=\"30.0\"} 3",
            "heddle_request_duration_seconds_bucket{\(labels),le=\"+Inf\"} 3",
            "heddle_request_duration_seconds_sum{\(labels)} 0.0033",
            "heddle_request_duration_seconds_count{\(labels)} 3",
            #"heddle_requests_total{listener="inbound",route="inbound#0",backend="app",status_class="2xx"} 1"#,
        ] {
            #expect(text.contains(line + "\n"), "missing: \(line)\n\(text)")
        }
        // One TYPE line per family, whatever the number of routes.
        #expect(text.components(separatedBy: "# TYPE heddle_requests_total").count == 2)
        #expect(RouteStatsText.escape("a\"b\\c") == #"a\"b\\c"#)
    }
}
