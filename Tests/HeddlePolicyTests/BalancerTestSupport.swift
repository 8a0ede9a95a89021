import HeddleCore
import HeddlePolicy

/// Every algorithm, for the properties all of them must have.
let allAlgorithms: [BalancerAlgorithm] = [.default, .roundRobin, .leastRequest, .ringHash()]

/// `count` endpoints keyed "10.0.0.<i>:8080", all of `weight`.
func endpoints(_ count: Int, weight: UInt32 = 1) -> [BalancerEndpoint] {
    (0..<count).map { BalancerEndpoint(key: "10.0.0.\($0):8080", weight: weight) }
}

/// An arbitrary starting point for the injected clock.
let start = Instant(nanoseconds: 1_000_000_000_000)

extension Duration {
    /// The duration in (fractional) milliseconds, for comparing estimates.
    var inMilliseconds: Double {
        Double(components.seconds) * 1_000 + Double(components.attoseconds) / 1e15
    }
}
