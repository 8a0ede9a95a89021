import HeddlePolicy
import Testing

@Suite("LoadBalancer: smooth weighted round robin")
struct RoundRobinBalancerTests {
    @Test("Weights 3:1 give exactly 300 and 100 of 400 picks, interleaved a a b a")
    func threeToOne() {
        var balancer = LoadBalancer(
            algorithm: .roundRobin,
            endpoints: [BalancerEndpoint(key: "a", weight: 3), BalancerEndpoint(key: "b", weight: 1)]
        )
        var rng = Xoshiro256StarStar(seed: 1)
        let picks = (0..<400).map { _ in balancer.pick(now: start, hash: nil, using: &rng) }
        #expect(picks.filter { $0 == 0 }.count == 300)
        #expect(picks.filter { $0 == 1 }.count == 100)
        #expect(Array(picks.prefix(8)) == [0, 0, 1, 0, 0, 0, 1, 0])
    }

    @Test("Equal weights cycle in order, skipping ineligible endpoints")
    func cyclesSkippingIneligible() {
        var balancer = LoadBalancer(algorithm: .roundRobin, endpoints: endpoints(4))
        var rng = Xoshiro256StarStar(seed: 1)
        let all = (0..<8).map { _ in balancer.pick(now: start, hash: nil, using: &rng) }
        #expect(all == [0, 1, 2, 3, 0, 1, 2, 3])
        let withoutTwo = (0..<6).map { _ in balancer.pick(now: start, hash: nil, using: &rng) { $0 != 2 } }
        #expect(withoutTwo == [0, 1, 3, 0, 1, 3])
    }

    @Test("The same configuration gives the same sequence")
    func deterministic() {
        let weighted = [
            BalancerEndpoint(key: "a", weight: 5), BalancerEndpoint(key: "b", weight: 2),
            BalancerEndpoint(key: "c", weight: 0), BalancerEndpoint(key: "d", weight: 1),
        ]
        var first = LoadBalancer(algorithm: .roundRobin, endpoints: weighted)
        var second = LoadBalancer(algorithm: .roundRobin, endpoints: weighted)
        var rng = Xoshiro256StarStar(seed: 1)
        let a = (0..<80).map { _ in first.pick(now: start, hash: nil, using: &rng) }
        let b = (0..<80).map { _ in second.pick(now: start, hash: nil, using: &rng) }
        #expect(a == b)
        #expect(a.filter { $0 == 0 }.count == 50)
        #expect(a.filter { $0 == 1 }.count == 20)
        #expect(a.filter { $0 == 3 }.count == 10)
    }
}
