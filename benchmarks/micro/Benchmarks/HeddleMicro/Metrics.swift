import Benchmark
import HeddleProxy
import HeddleStats
import Prometheus

func registerMetricsBenchmarks() {
    // The handles the proxy makes once per (route, backend) and event loop, and records each
    // request with: one status-class counter and the latency histogram.
    let metrics = ProxyMetrics()
    let handles = metrics.routeHandles(listener: "outbound", route: "shop#2", backend: "shop-v1")
    handles.record(status: 200, nanoseconds: 400_000)
    precondition(handles.statusClasses.count == 5, "one counter per status class")
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
