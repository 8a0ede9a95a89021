import HeddlePolicy
import Testing

@Suite("LoadBalancer: least request (P2C over in-flight)")
struct LeastRequestBalancerTests {
    @Test("Of two endpoints, the one with fewer requests in flight always wins")
    func fewerInFlightWins() {
        var balancer = LoadBalancer(algorithm: .leastRequest, endpoints: endpoints(2))
        for _ in 0..<5 { _ = balancer.requestStarted(0, now: start) }
        var rng = Xoshiro256StarStar(seed: 2)
        for _ in 0..<100 {
            #expect(balancer.pick(now: start, hash: nil, using: &rng) == 1)
        }
    }

    @Test("With in-flight 0, 3 and 6, the busiest is never picked and the idlest most")
    func busiestNeverPicked() {
        var balancer = LoadBalancer(algorithm: .leastRequest, endpoints: endpoints(3))
        for _ in 0..<3 { _ = balancer.requestStarted(1, now: start) }
        for _ in 0..<6 { _ = balancer.requestStarted(2, now: start) }
        var rng = Xoshiro256StarStar(seed: 3)
        var counts = [0, 0, 0]
        for _ in 0..<3_000 {
            counts[balancer.pick(now: start, hash: nil, using: &rng)!] += 1
        }
        #expect(counts[2] == 0)
        #expect((1_850...2_150).contains(counts[0]))
        #expect((850...1_150).contains(counts[1]))
    }

    @Test("Weight scales capacity: 1 in flight at weight 3 beats 0 in flight at weight 1")
    func weightScalesCapacity() {
        var balancer = LoadBalancer(
            algorithm: .leastRequest,
            endpoints: [BalancerEndpoint(key: "big", weight: 3), BalancerEndpoint(key: "small", weight: 1)]
        )
        _ = balancer.requestStarted(0, now: start)
        var rng = Xoshiro256StarStar(seed: 4)
        for _ in 0..<50 {
            #expect(balancer.pick(now: start, hash: nil, using: &rng) == 0)
        }
    }

    @Test("Under a steady load, picks spread across equal endpoints")
    func spreadsUnderLoad() {
        var balancer = LoadBalancer(algorithm: .leastRequest, endpoints: endpoints(4))
        var rng = Xoshiro256StarStar(seed: 5)
        var open: [BalancerTicket] = []
        var counts = [0, 0, 0, 0]
        for step in 0..<4_000 {
            let index = balancer.pick(now: start, hash: nil, using: &rng)!
            counts[index] += 1
            open.append(balancer.requestStarted(index, now: start))
            if step >= 20 {
                balancer.requestFinished(open.removeFirst(), now: start, latency: .milliseconds(1))
            }
            #expect((0..<4).map { balancer.inFlight(at: $0) }.max()! <= 8)
        }
        #expect(counts.allSatisfy { (900...1_100).contains($0) })
    }
}
