import HeddlePolicy
import Testing

@Suite("WeightedSplit")
struct WeightedSplitTests {
    @Test("A 90/10 split over 100 000 picks lands within one percentage point")
    func ninetyTen() {
        let split = WeightedSplit(weights: [90, 10])
        var rng = Xoshiro256StarStar(seed: 90)
        var counts = [0, 0]
        for _ in 0..<100_000 {
            counts[split.pick(using: &rng)!] += 1
        }
        #expect(abs(counts[0] - 90_000) <= 1_000)
        #expect(abs(counts[1] - 10_000) <= 1_000)
    }

    @Test("A backend of weight 0 is never picked")
    func zeroWeightNeverPicked() {
        let split = WeightedSplit(weights: [0, 3, 0, 1, 0])
        var rng = Xoshiro256StarStar(seed: 3)
        var picked = Set<Int>()
        for _ in 0..<10_000 {
            picked.insert(split.pick(using: &rng)!)
        }
        #expect(picked == [1, 3])
    }

    @Test("No backends or only zero weights give nil", arguments: [[], [0], [0, 0, 0]] as [[UInt32]])
    func nothingToPick(weights: [UInt32]) {
        var rng = Xoshiro256StarStar(seed: 0)
        #expect(WeightedSplit(weights: weights).pick(using: &rng) == nil)
    }

    @Test("The largest weights neither overflow nor starve anyone")
    func largestWeights() {
        let split = WeightedSplit(weights: [.max, .max, .max])
        var rng = Xoshiro256StarStar(seed: 5)
        var counts = [0, 0, 0]
        for _ in 0..<30_000 {
            counts[split.pick(using: &rng)!] += 1
        }
        #expect(counts.allSatisfy { (9_000...11_000).contains($0) })
    }
}
