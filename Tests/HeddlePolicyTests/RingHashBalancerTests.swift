import HeddlePolicy
import Testing

@Suite("LoadBalancer: ring hash")
struct RingHashBalancerTests {
    private static let keyHashes = (0..<10_000).map { StableHash.hash64("user-\($0)") }

    private static func owners(
        of balancer: inout LoadBalancer,
        isEligible: (Int) -> Bool = { _ in true }
    ) -> [String] {
        var rng = Xoshiro256StarStar(seed: 0)
        return keyHashes.map { hash in
            balancer.endpoints[balancer.pick(now: start, hash: hash, using: &rng, isEligible: isEligible)!].key
        }
    }

    @Test("The same key maps to the same endpoint, in every balancer built from the same endpoints")
    func stableMapping() {
        var first = LoadBalancer(algorithm: .ringHash(), endpoints: endpoints(10))
        var second = LoadBalancer(algorithm: .ringHash(), endpoints: endpoints(10))
        let firstOwners = Self.owners(of: &first)
        #expect(Self.owners(of: &first) == firstOwners)
        #expect(Self.owners(of: &second) == firstOwners)
        #expect(Set(firstOwners).count == 10)
    }

    @Test("Removing 1 of 10 endpoints moves only the keys it held, about a tenth")
    func removalRemapsFewKeys() {
        var balancer = LoadBalancer(algorithm: .ringHash(), endpoints: endpoints(10))
        let before = Self.owners(of: &balancer)
        let removed = balancer.endpoints[3].key
        balancer.update(endpoints: balancer.endpoints.filter { $0.key != removed })
        let after = Self.owners(of: &balancer)
        let moved = zip(before, after).filter { $0 != $1 }
        #expect(moved.count < Self.keyHashes.count / 5)
        #expect(moved.allSatisfy { $0.0 == removed })
        #expect(!after.contains(removed))
    }

    @Test("Adding an endpoint moves keys only onto it")
    func additionMovesKeysOntoNewEndpoint() {
        var balancer = LoadBalancer(algorithm: .ringHash(), endpoints: endpoints(9))
        let before = Self.owners(of: &balancer)
        balancer.update(endpoints: endpoints(10))
        let after = Self.owners(of: &balancer)
        let moved = zip(before, after).filter { $0 != $1 }
        #expect(moved.allSatisfy { $0.1 == "10.0.0.9:8080" })
        #expect(moved.count < Self.keyHashes.count / 5)
    }

    @Test("Keys spread in proportion to weight; weight 0 holds none")
    func weightedSpread() {
        var balancer = LoadBalancer(
            algorithm: .ringHash(),
            endpoints: [
                BalancerEndpoint(key: "light", weight: 1), BalancerEndpoint(key: "off", weight: 0),
                BalancerEndpoint(key: "heavy", weight: 3),
            ]
        )
        let owners = Self.owners(of: &balancer)
        let heavy = owners.filter { $0 == "heavy" }.count
        #expect(!owners.contains("off"))
        #expect((6_800...8_200).contains(heavy))
    }

    @Test("An ineligible endpoint's keys go to other endpoints; everyone else's keys stay")
    func ineligibleWalksForward() {
        var balancer = LoadBalancer(algorithm: .ringHash(), endpoints: endpoints(10))
        let before = Self.owners(of: &balancer)
        let ejected = balancer.endpoints[6].key
        let after = Self.owners(of: &balancer) { $0 != 6 }
        #expect(!after.contains(ejected))
        #expect(zip(before, after).allSatisfy { $0 == ejected || $0 == $1 })
        #expect(Self.owners(of: &balancer) == before)
    }

    @Test("Without a hash, picks are random among eligible endpoints")
    func noHashPicksRandomly() {
        var balancer = LoadBalancer(algorithm: .ringHash(), endpoints: endpoints(4))
        var rng = Xoshiro256StarStar(seed: 20)
        var counts = [0, 0, 0, 0]
        for _ in 0..<4_000 {
            counts[balancer.pick(now: start, hash: nil, using: &rng) { $0 != 1 }!] += 1
        }
        #expect(counts[1] == 0)
        #expect([counts[0], counts[2], counts[3]].allSatisfy { (1_200...1_470).contains($0) })
    }

    @Test("Degenerate ring sizes still give a working ring", arguments: [-5, 0, 1, 3])
    func tinyRingSizes(minimumRingSize: Int) {
        var balancer = LoadBalancer(algorithm: .ringHash(minimumRingSize: minimumRingSize), endpoints: endpoints(3))
        let owners = Self.owners(of: &balancer)
        #expect(Set(owners).count == 3)
    }
}
