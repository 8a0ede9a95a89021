import HeddlePolicy
import Testing

@Suite("RuleResilience.drawMirrors")
struct MirrorDrawTests {
    @Test("A rule without mirrors, or with mirrors at 0 %, copies nothing and draws nothing")
    func none() {
        var rng = Xoshiro256StarStar(seed: 1)
        var untouched = Xoshiro256StarStar(seed: 1)
        let bare = RuleResilience()
        let zero = RuleResilience(mirrors: [(service: 3, percent: 0)])
        for _ in 0..<1_000 {
            #expect(bare.drawMirrors(using: &rng).isEmpty)
            #expect(zero.drawMirrors(using: &rng).isEmpty)
        }
        #expect(rng.next() == untouched.next())
    }

    @Test("Mirrors at 100 % copy every request without drawing")
    func always() {
        var rng = Xoshiro256StarStar(seed: 2)
        var untouched = Xoshiro256StarStar(seed: 2)
        let rule = RuleResilience(mirrors: [(service: 4, percent: 100), (service: 1, percent: 100)])
        for _ in 0..<100 {
            #expect(rule.drawMirrors(using: &rng) == [4, 1])
        }
        #expect(rng.next() == untouched.next())
    }

    @Test("Each mirror is drawn on its own share")
    func independentShares() {
        var rng = Xoshiro256StarStar(seed: 3)
        let rule = RuleResilience(mirrors: [(service: 0, percent: 10), (service: 1, percent: 50), (service: 2, percent: 0.5)])
        var counts = [0, 0, 0]
        var both = 0
        let requests = 200_000
        for _ in 0..<requests {
            let chosen = rule.drawMirrors(using: &rng)
            for service in chosen { counts[service] += 1 }
            if chosen.contains(0), chosen.contains(1) { both += 1 }
        }
        let share = { (count: Int) in Double(count) / Double(requests) * 100 }
        #expect(abs(share(counts[0]) - 10) < 0.5, "\(counts)")
        #expect(abs(share(counts[1]) - 50) < 0.5, "\(counts)")
        #expect(abs(share(counts[2]) - 0.5) < 0.1, "\(counts)")
        // Independent: 10 % of 50 %.
        #expect(abs(share(both) - 5) < 0.4, "\(both)")
    }
}
