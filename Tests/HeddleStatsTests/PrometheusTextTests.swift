import HeddleStats
import Testing

@Suite struct PrometheusTextTests {
    @Test func readsSamplesWithLabelsAndSkipsComments() {
        let parsed = PrometheusText.parse("""
            # HELP heddle_requests_total HTTP requests
            # TYPE heddle_requests_total counter
            heddle_requests_total{listener="outbound",route="users#0",backend="users-v1",status_class="2xx"} 42
            heddle_downstream_connections 3

            heddle_request_duration_seconds_bucket{listener="outbound",route="users#0",backend="users-v1",le="+Inf"} 42
            """)
        #expect(parsed.skippedLines == 0)
        #expect(parsed.samples == [
            MetricSample(name: "heddle_requests_total", labels: ["listener": "outbound", "route": "users#0", "backend": "users-v1", "status_class": "2xx"], value: 42),
            MetricSample(name: "heddle_downstream_connections", value: 3),
            MetricSample(name: "heddle_request_duration_seconds_bucket", labels: ["listener": "outbound", "route": "users#0", "backend": "users-v1", "le": "+Inf"], value: 42),
        ])
    }

    @Test func unescapesLabelValuesAndReadsSpecialNumbers() {
        let parsed = PrometheusText.parse(#"a{path="/x\"y\\z",note="line\nbreak"} +Inf 1700000000"# + "\nb -Inf\nc 1.5e-3")
        #expect(parsed.samples.count == 3)
        #expect(parsed.samples[0].labels == ["path": #"/x"y\z"#, "note": "line\nbreak"])
        #expect(parsed.samples[0].value == .infinity)
        #expect(parsed.samples[1].value == -.infinity)
        #expect(parsed.samples[2].value == 0.0015)
    }

    @Test func aMalformedLineIsSkippedAndCountedNotFatal() {
        let parsed = PrometheusText.parse("""
            good 1
            bad{unterminated="x 2
            {nameless="x"} 3
            novalue
            also_good{a="b"} 4
            """)
        #expect(parsed.samples.map(\.name) == ["good", "also_good"])
        #expect(parsed.skippedLines == 3)
    }
}

@Suite struct GoldenMetricsTests {
    static func reading(_ text: String) -> TrafficReading {
        TrafficReading(samples: PrometheusText.parse(text).samples)
    }

    @Test func rateSuccessAndPercentilesBetweenTwoReadings() throws {
        let labels = #"listener="outbound",route="users#0",backend="users-v1""#
        let earlier = Self.reading("""
            heddle_requests_total{\(labels),status_class="2xx"} 100
            heddle_requests_total{\(labels),status_class="5xx"} 0
            heddle_request_duration_seconds_bucket{\(labels),le="0.001"} 50
            heddle_request_duration_seconds_bucket{\(labels),le="0.01"} 100
            heddle_request_duration_seconds_bucket{\(labels),le="+Inf"} 100
            """)
        // 200 more in two seconds: 190 fine, 10 failed; 100 under 1 ms, 98 up to 10 ms, 2 over.
        let later = Self.reading("""
            heddle_requests_total{\(labels),status_class="2xx"} 290
            heddle_requests_total{\(labels),status_class="5xx"} 10
            heddle_request_duration_seconds_bucket{\(labels),le="0.001"} 150
            heddle_request_duration_seconds_bucket{\(labels),le="0.01"} 298
            heddle_request_duration_seconds_bucket{\(labels),le="+Inf"} 300
            """)
        let key = TrafficReading.Key(listener: "outbound", route: "users#0", backend: "users-v1")
        let golden = GoldenMetrics(from: try #require(earlier.groups[key]), to: try #require(later.groups[key]), seconds: 2)
        #expect(golden.requestsPerSecond == 100)
        #expect(golden.successRate == 0.95)
        // Rank 100 of 200 is the last request of the first bucket: 1 ms.
        #expect(golden.p50 == 0.001)
        // Rank 198 is at the top of the 1–10 ms bucket, which holds ranks 101...198.
        #expect(abs(try #require(golden.p99) - 0.01) < 1e-12)
    }

    @Test func noTrafficHasNoSuccessRateOrLatency() {
        let golden = GoldenMetrics(traffic: RequestCounters(), seconds: 1)
        #expect(golden.requestsPerSecond == 0)
        #expect(golden.successRate == nil && golden.p50 == nil && golden.p99 == nil)
    }

    @Test func aCounterThatWentDownCountsFromZero() {
        let earlier = RequestCounters(requests: 500, failures: 5, buckets: [.infinity: 500])
        let restarted = RequestCounters(requests: 20, failures: 0, buckets: [.infinity: 20])
        #expect(restarted.since(earlier) == restarted)
    }

    @Test func aQuantileInTheOpenBucketIsTheLargestFiniteBound() {
        let slow = RequestCounters(requests: 10, failures: 0, buckets: [0.5: 0, 1: 1, .infinity: 10])
        #expect(slow.latency(quantile: 0.99) == 1)
        #expect(slow.latency(quantile: 0.05) == 0.5 + 0.5 * 0.5)
    }

    @Test func groupsAreSummedAcrossProxiesByAnyKey() {
        let a = Self.reading(#"heddle_requests_total{listener="outbound",route="api",backend="api",status_class="2xx"} 5"#)
        let b = Self.reading(#"heddle_requests_total{listener="outbound",route="api",backend="api",status_class="5xx"} 1"# + "\n" + #"heddle_requests_total{listener="inbound",route="inbound",backend="app",status_class="2xx"} 9"#)
        let merged = TrafficReading(groups: a.groups.merging(b.groups, uniquingKeysWith: +))
        let byBackend = merged.summed { $0.listener == "outbound" ? $0.backend : nil }
        #expect(byBackend == ["api": RequestCounters(requests: 6, failures: 1)])
    }
}
