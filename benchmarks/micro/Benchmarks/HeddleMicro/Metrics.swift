import Benchmark
import HeddleStats
import Prometheus

/// The handles HeddleProxy's `ProxyMetrics.routeHandles` makes once per (route, backend) and
/// event loop, and what `RouteMetrics.record` does with them for every request: one
/// status-class counter and the latency histogram (both internal to HeddleProxy; the same
/// swift-prometheus calls and buckets here, kept in step with ProxyMetrics.swift by hand).
private struct RouteHandles {
    static let latencyBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
    ]

    let statusClasses: [Counter]
    let latency: DurationHistogram

    init(registry: PrometheusCollectorRegistry) {
        let requests = MetricNameDescriptor(
            namespace: "heddle", metricName: "requests", unitName: "total",
            helpText: "HTTP requests, by listener, route, backend and status class")
        let labels = [("listener", "outbound"), ("route", "shop#2"), ("backend", "shop-v1")]
        statusClasses = ["1xx", "2xx", "3xx", "4xx", "5xx"].map { statusClass in
            registry.makeCounter(descriptor: requests, labels: labels + [("status_class", statusClass)])
        }
        latency = registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                namespace: "heddle", metricName: "request_duration", unitName: "seconds",
                helpText: "Time from the request head to the end of the response"),
            labels: labels, buckets: Self.latencyBuckets)
    }

    func record(status: Int, nanoseconds: Int64) {
        let index = min(max(status / 100, 1), 5) - 1
        statusClasses[index].increment()
        latency.recordNanoseconds(nanoseconds)
    }
}

func registerMetricsBenchmarks() {
    let registry = PrometheusCollectorRegistry()
    let handles = RouteHandles(registry: registry)
    Benchmark("Metrics: record a request (status-class counter + latency histogram)") { benchmark in
        for iteration in benchmark.scaledIterations {
            handles.record(status: 200, nanoseconds: Int64(400_000 + iteration * 1_000))
        }
    }

    Benchmark("Metrics: counter increment alone") { benchmark in
        for _ in benchmark.scaledIterations {
            handles.statusClasses[1].increment()
        }
    }

    Benchmark("Metrics: latency histogram record alone (15 buckets, locked)") { benchmark in
        for iteration in benchmark.scaledIterations {
            handles.latency.recordNanoseconds(Int64(400_000 + iteration * 1_000))
        }
    }

    // Off the data path: the golden metrics `heddle demo` shows, computed
    // from two scrapes of a route's counters.
    let bounds = RouteHandles.latencyBuckets.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 } + [.infinity]
    let earlier = RequestCounters(requests: 1000, failures: 3, buckets: Dictionary(uniqueKeysWithValues: bounds.enumerated().map { ($1, Double(min(1000, 100 * ($0 + 1)))) }))
    let later = RequestCounters(requests: 3000, failures: 5, buckets: Dictionary(uniqueKeysWithValues: bounds.enumerated().map { ($1, Double(min(3000, 300 * ($0 + 1)))) }))
    precondition(GoldenMetrics(from: earlier, to: later, seconds: 10).p99 != nil)
    Benchmark("Stats: golden metrics from two readings (off the data path)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(GoldenMetrics(from: earlier, to: later, seconds: 10))
        }
    }
}
