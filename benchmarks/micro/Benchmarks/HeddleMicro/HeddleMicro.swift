import Benchmark
import Foundation

/// Every benchmark runs its operation 1000 times per measured iteration (`scalingFactor:
/// .kilo`), so `--scale` reports time and allocations per operation.
///
/// `HEDDLE_MICRO_SMOKE=1` (set by `smoke.sh`, which CI runs) cuts every benchmark to a few
/// iterations: the run only proves that the benchmarks still build and still measure the path
/// they claim to (the fixtures check their own results before anything is timed).
let benchmarks: @Sendable () -> Void = {
    let smoke = ProcessInfo.processInfo.environment["HEDDLE_MICRO_SMOKE"] != nil
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal],
        timeUnits: .nanoseconds,
        warmupIterations: smoke ? 1 : 20,
        scalingFactor: .kilo,
        maxDuration: smoke ? .milliseconds(20) : .seconds(2),
        maxIterations: smoke ? 3 : 100_000
    )
    registerRoutingBenchmarks()
    registerBalancerBenchmarks()
    registerHTTP1Benchmarks()
    registerMetricsBenchmarks()
}
