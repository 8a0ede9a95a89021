import HeddlePolicy
import Testing

@Suite("Backoff")
struct BackoffTests {
    @Test("The ceiling doubles from 25 ms per retry and stops at 250 ms")
    func ceilings() {
        let backoff = Backoff()
        let ceilings = (1...7).map { backoff.ceiling(attempt: $0) }
        #expect(ceilings == [25, 50, 100, 200, 250, 250, 250].map { Duration.milliseconds($0) })
        #expect(backoff.ceiling(attempt: 1_000_000) == .milliseconds(250))
        #expect(backoff.ceiling(attempt: .max) == .milliseconds(250))
    }

    @Test("Attempts below 1 count as the first retry")
    func attemptsBelowOne() {
        let backoff = Backoff()
        #expect(backoff.ceiling(attempt: 0) == .milliseconds(25))
        #expect(backoff.ceiling(attempt: -3) == .milliseconds(25))
    }

    @Test("Delays are spread uniformly over zero to the ceiling", arguments: [1, 3, 8])
    func fullJitter(attempt: Int) {
        let backoff = Backoff()
        let ceiling = backoff.ceiling(attempt: attempt)
        var rng = Xoshiro256StarStar(seed: UInt64(attempt))
        var quarters = [0, 0, 0, 0]
        var total = Duration.zero
        for _ in 0..<40_000 {
            let delay = backoff.delay(attempt: attempt, using: &rng)
            #expect(delay >= .zero && delay <= ceiling)
            quarters[min(Int(delay / ceiling * 4), 3)] += 1
            total += delay
        }
        #expect(quarters.allSatisfy { (9_500...10_500).contains($0) })
        let mean = total / 40_000
        #expect(abs(mean / ceiling - 0.5) < 0.01)
    }

    @Test("The same seed gives the same delays")
    func reproducible() {
        let backoff = Backoff()
        var first = Xoshiro256StarStar(seed: 99)
        var second = Xoshiro256StarStar(seed: 99)
        let a = (1...20).map { backoff.delay(attempt: $0, using: &first) }
        let b = (1...20).map { backoff.delay(attempt: $0, using: &second) }
        #expect(a == b)
    }

    @Test("A base above the maximum is held to the maximum; a zero base never waits")
    func degenerateSettings() {
        let capped = Backoff(base: .seconds(2), max: .seconds(1))
        #expect(capped.ceiling(attempt: 1) == .seconds(1))
        #expect(capped.ceiling(attempt: 5) == .seconds(1))
        let zero = Backoff(base: .zero, max: .seconds(1))
        var rng = Xoshiro256StarStar(seed: 1)
        for attempt in 1...70 {
            #expect(zero.delay(attempt: attempt, using: &rng) == .zero)
        }
        let negative = Backoff(base: .milliseconds(-5), max: .milliseconds(-1))
        #expect(negative.base == .zero && negative.max == .zero)
    }

    @Test("Doubling a large base does not overflow")
    func largeValues() {
        let backoff = Backoff(base: .seconds(1_000_000_000), max: .seconds(9_000_000_000))
        #expect(backoff.ceiling(attempt: 3) == .seconds(4_000_000_000))
        #expect(backoff.ceiling(attempt: 4) == .seconds(8_000_000_000))
        #expect(backoff.ceiling(attempt: 5) == .seconds(9_000_000_000))
        #expect(backoff.ceiling(attempt: 64) == .seconds(9_000_000_000))
        #expect(backoff.ceiling(attempt: 65) == .seconds(9_000_000_000))
    }
}
