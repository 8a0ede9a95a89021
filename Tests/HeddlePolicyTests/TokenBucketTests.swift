import HeddleCore
import HeddlePolicy
import Testing

@Suite("TokenBucket")
struct TokenBucketTests {
    @Test("A new bucket is full: a burst goes through, the next request is refused")
    func startsFull() {
        var bucket = TokenBucket(ratePerSecond: 10, burst: 5)
        #expect(bucket.available(now: start) == 5)
        for _ in 0..<5 {
            #expect(bucket.tryTake(now: start) == true)
        }
        #expect(bucket.tryTake(now: start) == false)
        #expect(bucket.available(now: start) == 0)
    }

    @Test("Tokens come back at the rate, to the nanosecond, and retryAfter says when")
    func refill() {
        var bucket = TokenBucket(ratePerSecond: 10, burst: 1)
        #expect(bucket.tryTake(now: start) == true)
        #expect(bucket.retryAfter(now: start) == .milliseconds(100))
        let almost = start.advanced(by: .milliseconds(100) - .nanoseconds(1))
        #expect(bucket.retryAfter(now: almost) == .nanoseconds(1))
        #expect(bucket.tryTake(now: almost) == false)
        let due = start.advanced(by: .milliseconds(100))
        #expect(bucket.retryAfter(now: due) == .zero)
        #expect(bucket.tryTake(now: due) == true)
        #expect(bucket.retryAfter(now: due) == .milliseconds(100))
    }

    @Test("A rate that does not divide a second does not drift: 3 a second for 100 s in 1 ms steps gives exactly 300")
    func noDrift() {
        // A burst of 2, drained, so the level never reaches the cap and loses nothing to it.
        var bucket = TokenBucket(ratePerSecond: 3, burst: 2)
        #expect(bucket.tryTake(now: start) && bucket.tryTake(now: start) == true)
        var taken = 0
        for step in 1...100_000 {
            if bucket.tryTake(now: start.advanced(by: .milliseconds(step))) { taken += 1 }
        }
        #expect(taken == 300)
    }

    @Test("Refilling in many uneven steps gives exactly what one step gives")
    func stepsMatchOneJump() {
        var stepped = TokenBucket(tokens: 7, per: .seconds(3), burst: 50)
        for _ in 0..<50 {
            _ = stepped.tryTake(now: start)
        }
        var jumped = stepped
        // Nine takes at uneven times (each with a token to spare), against nine at the end.
        var elapsed = Duration.zero
        for step in 1...9 {
            elapsed += .microseconds(450_000 + 1_337 * step)
            #expect(stepped.tryTake(now: start.advanced(by: elapsed)) == true)
        }
        let end = start.advanced(by: elapsed)
        for _ in 0..<9 {
            #expect(jumped.tryTake(now: end) == true)
        }
        #expect(stepped.available(now: end) == jumped.available(now: end))
        #expect(stepped.retryAfter(now: end) == jumped.retryAfter(now: end))
        #expect(stepped.retryAfter(now: end) > .zero)
    }

    @Test("retryAfter rounds up to the nanosecond when a token takes a fractional number of them")
    func retryAfterRoundsUp() {
        var bucket = TokenBucket(ratePerSecond: 3, burst: 1)
        _ = bucket.tryTake(now: start)
        #expect(bucket.retryAfter(now: start) == .nanoseconds(333_333_334))
        #expect(bucket.tryTake(now: start.advanced(by: .nanoseconds(333_333_333))) == false)
        #expect(bucket.tryTake(now: start.advanced(by: .nanoseconds(333_333_334))) == true)
    }

    @Test("Fractional rates: half a token a second")
    func fractionalRate() {
        var bucket = TokenBucket(ratePerSecond: 0.5, burst: 2)
        #expect(bucket.tryTake(now: start) == true)
        #expect(bucket.tryTake(now: start) == true)
        #expect(bucket.retryAfter(now: start) == .seconds(2))
        #expect(bucket.tryTake(now: start.advanced(by: .milliseconds(1_999))) == false)
        #expect(bucket.tryTake(now: start.advanced(by: .seconds(2))) == true)
    }

    @Test("Tokens per period: 60 a minute is one a second")
    func perPeriod() {
        var bucket = TokenBucket(tokens: 60, per: .seconds(60), burst: 1)
        #expect(bucket.tryTake(now: start) == true)
        #expect(bucket.retryAfter(now: start) == .seconds(1))
    }

    @Test("An idle bucket fills up to the burst and no further")
    func capsAtBurst() {
        var bucket = TokenBucket(ratePerSecond: 1_000, burst: 20)
        for _ in 0..<20 {
            _ = bucket.tryTake(now: start)
        }
        let muchLater = start.advanced(by: .seconds(1_000_000))
        #expect(bucket.available(now: muchLater) == 20)
        for _ in 0..<20 {
            #expect(bucket.tryTake(now: muchLater) == true)
        }
        #expect(bucket.tryTake(now: muchLater) == false)
    }

    @Test("A clock that steps backwards adds no tokens")
    func clockBackwards() {
        var bucket = TokenBucket(ratePerSecond: 1, burst: 1)
        let later = start.advanced(by: .seconds(10))
        #expect(bucket.tryTake(now: later) == true)
        #expect(bucket.tryTake(now: start) == false)
        #expect(bucket.retryAfter(now: start) == .seconds(1))
        #expect(bucket.tryTake(now: later.advanced(by: .milliseconds(999))) == false)
        #expect(bucket.tryTake(now: later.advanced(by: .seconds(1))) == true)
    }

    @Test("Settings out of range are clamped")
    func clamping() {
        #expect(TokenBucket(ratePerSecond: 0, burst: 0).burst == 1)
        #expect(TokenBucket(ratePerSecond: 0, burst: 0).tokensPerPeriod == 1)
        #expect(TokenBucket(ratePerSecond: .nan, burst: 5).tokensPerPeriod == 1)
        #expect(TokenBucket(tokens: 1, per: .seconds(1), burst: .max).burst == TokenBucket.maxBurst)
        var slowest = TokenBucket(ratePerSecond: 0, burst: 1)
        _ = slowest.tryTake(now: start)
        #expect(slowest.retryAfter(now: start) == .seconds(1_000))
    }
}
