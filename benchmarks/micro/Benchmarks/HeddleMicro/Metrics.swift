import Benchmark
import HeddleProxy
import HeddleStats
import Prometheus

func registerMetricsBenchmarks() {
    // What the proxy records each request with: the route's and backend's counts on the
    // request's event loop (a status class and a latency bucket, plain memory: no lock, no
    // atomic), summed over the loops when /metrics is read.
    let stats = RouteStats(labels: RouteStatsLabels(listener: "outbound", route: "shop#2", backend: "shop-v1"))
    stats.record(status: 200, nanoseconds: 400_000)
    precondition(stats.reading.count == 1 && stats.reading.statusClasses[1] == 1, "one request, 2xx")
    Benchmark("Metrics: record a request (status class + latency bucket, per event loop)") { benchmark in
        for iteration in benchmark.scaledIterations {
            stats.record(status: 200, nanoseconds: Int64(400_000 + iteration * 1_000))
        }
    }

    // What it did before (kept to show the difference): swift-prometheus's counter (an atomic
    // add) and histogram (a lock, and every one of 15 buckets compared as a Duration).
    let registry = PrometheusCollectorRegistry()
    let counter = registry.makeCounter(
        descriptor: MetricNameDescriptor(namespace: "heddle", metricName: "requests", unitName: "total", helpText: "HTTP requests"), labels: [("route", "shop#2")])
    let histogram = registry.makeDurationHistogram(
        descriptor: MetricNameDescriptor(namespace: "heddle", metricName: "request_duration", unitName: "seconds", helpText: "Latency"),
        labels: [("route", "shop#2")], buckets: ProxyMetrics.latencyBuckets)
    Benchmark("Metrics: swift-prometheus counter increment") { benchmark in
        for _ in benchmark.scaledIterations {
            counter.increment()
        }
    }

    Benchmark("Metrics: swift-prometheus histogram record (15 buckets, locked)") { benchmark in
        for iteration in benchmark.scaledIterations {
            histogram.recordNanoseconds(Int64(400_000 + iteration * 1_000))
        }
    }

    // Off the data path: the golden metrics `heddle demo` shows, computed
    // from two scrapes of a route's counters.
    let bounds = ProxyMetrics.latencyBuckets.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 } + [.infinity]
    let earlier = RequestCounters(requests: 1000, failures: 3, buckets: Dictionary(uniqueKeysWithValues: bounds.enumerated().map { ($1, Double(min(1000, 100 * ($0 + 1)))) }))
    let later = RequestCounters(requests: 3000, failures: 5, buckets: Dictionary(uniqueKeysWithValues: bounds.enumerated().map { ($1, Double(min(3000, 300 * ($0 + 1)))) }))
    precondition(GoldenMetrics(from: earlier, to: later, seconds: 10).p99 != nil)
    Benchmark("Stats: golden metrics from two readings (off the data path)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(GoldenMetrics(from: earlier, to: later, seconds: 10))
        }
    }
}
