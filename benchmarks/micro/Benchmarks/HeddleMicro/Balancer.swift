import Benchmark
import HeddleCore
import HeddlePolicy

private func endpoints(_ count: Int) -> [BalancerEndpoint] {
    (0..<count).map { BalancerEndpoint(key: "10.0.\($0 / 250).\($0 % 250 + 1):8080") }
}

/// A balancer, its random source and clock, as one event loop holds them.
private struct LoopState {
    var balancer: LoadBalancer
    var rng: Xoshiro256StarStar
    var clock: UInt64 = 1_000_000_000

    init(_ algorithm: BalancerAlgorithm, endpoints count: Int, seed: UInt64) {
        balancer = LoadBalancer(algorithm: algorithm, endpoints: endpoints(count))
        rng = Xoshiro256StarStar(seed: seed)
    }

    /// One request's work on the balancer as the proxy does it: pick, count it started, and
    /// finish it with its latency (under peak EWMA, a sample for the estimate). Requests are
    /// 50 µs apart and take 300–500 µs.
    mutating func pickStartFinish() -> Int {
        clock &+= 50_000
        let now = Instant(nanoseconds: clock)
        let index = balancer.pick(now: now, hash: nil, using: &rng)!
        let ticket = balancer.requestStarted(index, now: now)
        let latency = Duration.nanoseconds(Int64(300_000 + (clock >> 10) % 200_000))
        balancer.requestFinished(ticket, now: now.advanced(by: latency), latency: latency)
        return index
    }

    mutating func pick(hash: UInt64? = nil) -> Int? {
        balancer.pick(now: Instant(nanoseconds: clock), hash: hash, using: &rng)
    }
}

func registerBalancerBenchmarks() {
    for (name, algorithm) in [("P2C peak-EWMA", BalancerAlgorithm.p2cPeakEWMA()), ("least request", .leastRequest)] {
        let state = Box(LoopState(algorithm, endpoints: 10, seed: 1))
        Benchmark("Balancer: \(name), pick + start + finish (10 endpoints)") { benchmark in
            state.with { state in
                for _ in benchmark.scaledIterations {
                    blackHole(state.pickStartFinish())
                }
            }
        }
    }

    // Picks with requests in flight and latency estimates in place: the comparison of two
    // endpoints' costs is what a pick spends its time on.
    let loaded = Box(LoopState(.p2cPeakEWMA(), endpoints: 10, seed: 2))
    loaded.with { state in
        for _ in 0..<1000 { _ = state.pickStartFinish() }
        for index in 0..<20 {
            _ = state.balancer.requestStarted(index % 10, now: Instant(nanoseconds: state.clock))
        }
        precondition(state.balancer.latencyEstimate(at: 0, now: Instant(nanoseconds: state.clock)) != nil)
    }
    Benchmark("Balancer: P2C peak-EWMA, pick only, 20 in flight (10 endpoints)") { benchmark in
        loaded.with { state in
            for _ in benchmark.scaledIterations {
                blackHole(state.pick())
            }
        }
    }

    for count in [10, 100] {
        let state = Box(LoopState(.roundRobin, endpoints: count, seed: 3))
        Benchmark("Balancer: round robin, pick (\(count) endpoints)") { benchmark in
            state.with { state in
                for _ in benchmark.scaledIterations {
                    blackHole(state.pick())
                }
            }
        }
    }

    let ring = Box(LoopState(.ringHash(), endpoints: 10, seed: 4))
    let sessions = (0..<64).map { "session-\($0)-3f2a9c1e7b5d4a60" }
    ring.with { state in
        let hash = StableHash.hash64(sessions[0])
        precondition(state.pick(hash: hash) != nil && state.pick(hash: hash) == state.pick(hash: hash))
    }
    Benchmark("Balancer: ring hash, xxHash64 of a session id + pick (10 endpoints, 1024 points)") { benchmark in
        ring.with { state in
            for iteration in benchmark.scaledIterations {
                blackHole(state.pick(hash: StableHash.hash64(sessions[iteration & 63])))
            }
        }
    }
}
