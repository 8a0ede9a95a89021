import HeddleCore
import HeddlePolicy
import Testing

@Suite("LoadBalancer: properties every algorithm has")
struct LoadBalancerTests {
    @Test("An endpoint of weight 0 is never picked", arguments: allAlgorithms)
    func zeroWeightNeverPicked(algorithm: BalancerAlgorithm) {
        var balancer = LoadBalancer(
            algorithm: algorithm,
            endpoints: [
                BalancerEndpoint(key: "a", weight: 0), BalancerEndpoint(key: "b", weight: 2),
                BalancerEndpoint(key: "c", weight: 0), BalancerEndpoint(key: "d", weight: 1),
            ]
        )
        var rng = Xoshiro256StarStar(seed: 30)
        var picked = Set<Int>()
        for _ in 0..<2_000 {
            let hash = rng.next()
            let index = balancer.pick(now: start, hash: hash, using: &rng)!
            picked.insert(index)
            _ = balancer.requestStarted(index, now: start)
        }
        #expect(picked == [1, 3])
    }

    @Test("An endpoint isEligible refuses is never picked", arguments: allAlgorithms)
    func ineligibleSkipped(algorithm: BalancerAlgorithm) {
        var balancer = LoadBalancer(algorithm: algorithm, endpoints: endpoints(6))
        var rng = Xoshiro256StarStar(seed: 31)
        var picked = Set<Int>()
        for _ in 0..<2_000 {
            let hash = rng.next()
            picked.insert(balancer.pick(now: start, hash: hash, using: &rng) { $0 % 3 != 0 }!)
        }
        #expect(picked == [1, 2, 4, 5])
    }

    @Test("No endpoints, only zero weights, or nothing eligible give nil", arguments: allAlgorithms)
    func nothingToPick(algorithm: BalancerAlgorithm) {
        var rng = Xoshiro256StarStar(seed: 32)
        var empty = LoadBalancer(algorithm: algorithm, endpoints: [])
        var zero = LoadBalancer(algorithm: algorithm, endpoints: endpoints(3, weight: 0))
        var refused = LoadBalancer(algorithm: algorithm, endpoints: endpoints(3))
        for hash in [nil, 0, 42, UInt64.max] as [UInt64?] {
            #expect(empty.pick(now: start, hash: hash, using: &rng) == nil)
            #expect(zero.pick(now: start, hash: hash, using: &rng) == nil)
            #expect(refused.pick(now: start, hash: hash, using: &rng) { _ in false } == nil)
        }
    }

    @Test("With many endpoints and one eligible, that one is found", arguments: allAlgorithms)
    func loneEligibleAmongMany(algorithm: BalancerAlgorithm) {
        var balancer = LoadBalancer(algorithm: algorithm, endpoints: endpoints(200))
        var rng = Xoshiro256StarStar(seed: 33)
        for _ in 0..<200 {
            let hash = rng.next()
            #expect(balancer.pick(now: start, hash: hash, using: &rng) { $0 == 137 } == 137)
        }
    }

    @Test("An update keeps in-flight counts and estimates by key and starts new keys fresh", arguments: allAlgorithms)
    func updatePreservesStats(algorithm: BalancerAlgorithm) {
        var balancer = LoadBalancer(algorithm: algorithm, endpoints: endpoints(2))
        for _ in 0..<3 { _ = balancer.requestStarted(1, now: start) }
        balancer.requestFinished(balancer.requestStarted(1, now: start), now: start, latency: .milliseconds(50))
        let estimate = balancer.latencyEstimate(at: 1, now: start)

        let added = BalancerEndpoint(key: "10.0.0.9:8080")
        balancer.update(endpoints: [added, balancer.endpoints[1], balancer.endpoints[0]])
        #expect(balancer.endpoints.map(\.key) == ["10.0.0.9:8080", "10.0.0.1:8080", "10.0.0.0:8080"])
        #expect(balancer.inFlight(at: 1) == 3)
        #expect(balancer.inFlight(at: 0) == 0)
        #expect(balancer.inFlight(at: 2) == 0)
        #expect(balancer.latencyEstimate(at: 1, now: start) == estimate)
        if case .p2cPeakEWMA = algorithm {
            #expect(estimate == .milliseconds(50))
            #expect(balancer.latencyEstimate(at: 0, now: start) == .milliseconds(30))
        }
    }

    @Test("A request finished after an update lands on its endpoint wherever it moved", arguments: allAlgorithms)
    func finishAfterMove(algorithm: BalancerAlgorithm) {
        var balancer = LoadBalancer(algorithm: algorithm, endpoints: endpoints(3))
        let ticket = balancer.requestStarted(0, now: start)
        balancer.update(endpoints: Array(balancer.endpoints.reversed()))
        #expect(balancer.inFlight(at: 2) == 1)
        balancer.requestFinished(ticket, now: start, latency: .milliseconds(1))
        #expect((0..<3).map { balancer.inFlight(at: $0) } == [0, 0, 0])
    }

    @Test("A request finished after its endpoint was removed, or removed and re-added, changes nothing", arguments: allAlgorithms)
    func finishAfterRemoval(algorithm: BalancerAlgorithm) {
        var balancer = LoadBalancer(algorithm: algorithm, endpoints: endpoints(3))
        let original = balancer.endpoints
        let ticket = balancer.requestStarted(1, now: start)
        _ = balancer.requestStarted(2, now: start)
        balancer.update(endpoints: [original[0], original[2]])
        balancer.requestFinished(ticket, now: start, latency: .milliseconds(1))
        #expect([balancer.inFlight(at: 0), balancer.inFlight(at: 1)] == [0, 1])

        let readded = balancer.requestStarted(0, now: start)
        balancer.update(endpoints: [original[2]])
        balancer.update(endpoints: original)
        _ = balancer.requestStarted(0, now: start)
        balancer.requestFinished(readded, now: start, latency: .milliseconds(1))
        #expect((0..<3).map { balancer.inFlight(at: $0) } == [1, 0, 1])
    }

    @Test("Bad indices and repeated finishes are ignored; counts never go below zero", arguments: allAlgorithms)
    func misuseIsHarmless(algorithm: BalancerAlgorithm) {
        var balancer = LoadBalancer(algorithm: algorithm, endpoints: endpoints(2))
        for index in [-1, 2, Int.max, Int.min] {
            balancer.requestFinished(balancer.requestStarted(index, now: start), now: start, latency: .milliseconds(1))
        }
        let ticket = balancer.requestStarted(0, now: start)
        for _ in 0..<3 {
            balancer.requestFinished(ticket, now: start, latency: .seconds(-5))
        }
        #expect([balancer.inFlight(at: 0), balancer.inFlight(at: 1), balancer.inFlight(at: -1)] == [0, 0, 0])
        #expect(balancer.latencyEstimate(at: 5, now: start) == nil)
    }

    @Test("Duplicate keys each get their own counts", arguments: allAlgorithms)
    func duplicateKeys(algorithm: BalancerAlgorithm) {
        let twice = [BalancerEndpoint(key: "same"), BalancerEndpoint(key: "same")]
        var balancer = LoadBalancer(algorithm: algorithm, endpoints: twice)
        let first = balancer.requestStarted(0, now: start)
        let second = balancer.requestStarted(1, now: start)
        balancer.update(endpoints: twice)
        #expect([balancer.inFlight(at: 0), balancer.inFlight(at: 1)] == [1, 0])
        balancer.requestFinished(first, now: start, latency: .milliseconds(1))
        balancer.requestFinished(second, now: start, latency: .milliseconds(1))
        #expect([balancer.inFlight(at: 0), balancer.inFlight(at: 1)] == [0, 0])
    }

    @Test("Random interleavings of picks, starts, finishes and updates keep every count exact", arguments: allAlgorithms)
    func randomInterleavings(algorithm: BalancerAlgorithm) {
        var rng = Xoshiro256StarStar(seed: 34)
        var balancer = LoadBalancer(algorithm: algorithm, endpoints: [])
        var open: [BalancerTicket] = []
        var now = start
        for _ in 0..<10_000 {
            now = now.advanced(by: .microseconds(Int64.random(in: 0..<5_000, using: &rng)))
            switch Int.random(in: 0..<20, using: &rng) {
            case 0:
                let count = Int.random(in: 0...8, using: &rng)
                balancer.update(endpoints: (0..<count).map { _ in
                    BalancerEndpoint(key: "k\(Int.random(in: 0..<8, using: &rng))", weight: UInt32.random(in: 0...3, using: &rng))
                })
            case 1...10:
                let eligible = UInt8.random(in: 0...UInt8.max, using: &rng)
                let hash: UInt64? = Bool.random(using: &rng) ? rng.next() : nil
                if let index = balancer.pick(now: now, hash: hash, using: &rng, isEligible: { eligible & (1 << ($0 % 8)) != 0 }) {
                    #expect(balancer.endpoints[index].weight > 0)
                    #expect(eligible & (1 << (index % 8)) != 0)
                    open.append(balancer.requestStarted(index, now: now))
                }
            case 11, 12:
                open.append(balancer.requestStarted(Int.random(in: -2..<10, using: &rng), now: now))
            default:
                guard !open.isEmpty else { continue }
                let ticket = open.remove(at: Int.random(in: 0..<open.count, using: &rng))
                let latency = Duration.microseconds(Int64.random(in: 0..<500_000, using: &rng))
                balancer.requestFinished(ticket, now: now, latency: latency)
            }
        }
        for ticket in open {
            balancer.requestFinished(ticket, now: now, latency: .milliseconds(1))
        }
        #expect(balancer.endpoints.indices.allSatisfy { balancer.inFlight(at: $0) == 0 })
    }
}
