import HeddleCore
import HeddlePolicy
import Testing

@Suite("RetryBudget")
struct RetryBudgetTests {
    @Test("Against a service failing every request, retries stay within 20 % of requests plus 10 a second, and use most of it")
    func failingService() {
        var budget = RetryBudget()
        var now = start
        var requests = 0
        var retries = 0
        // 100 requests a second for 60 s; every attempt fails and is retried up to twice.
        for _ in 0..<6_000 {
            budget.recordRequest(now: now)
            requests += 1
            var attempts = 1
            while attempts < 3, budget.tryWithdraw(now: now) {
                retries += 1
                attempts += 1
            }
            now = now.advanced(by: .milliseconds(10))
        }
        let bound = requests / 5 + 10 * 60
        #expect(retries <= bound)
        #expect(retries >= bound - 100)
    }

    @Test("Under bursty traffic, a retry is granted only within 20 % of the last ttl's requests plus the reserve, counting the last 0.9 ttl's retries")
    func slidingWindowBound() {
        var budget = RetryBudget()
        var rng = Xoshiro256StarStar(seed: 7)
        // 100 ms steps, each with 0 to 300 requests that fail once and want a retry.
        var requests: [Int] = []
        var retries: [Int] = []
        for step in 0..<600 {
            let now = start.advanced(by: .milliseconds(100 * step))
            let count = Int.random(in: 0...300, using: &rng) * (step % 70 < 35 ? 1 : 0)
            var granted = 0
            for _ in 0..<count {
                budget.recordRequest(now: now)
                if budget.tryWithdraw(now: now) { granted += 1 }
            }
            requests.append(count)
            retries.append(granted)
            // The bound holds when a retry is granted; later, expiring deposits can leave the
            // retries they paid for above it, which is what ends further retries.
            guard granted > 0 else { continue }
            let recentRetries = retries.suffix(90).reduce(0, +)
            let windowRequests = requests.suffix(100).reduce(0, +)
            #expect(recentRetries * 5 <= windowRequests + 5 * 100)
        }
        #expect(retries.reduce(0, +) * 5 >= requests.reduce(0, +))
    }

    @Test("With no traffic at all, 10 retries a second go through indefinitely")
    func minimumWithoutTraffic() {
        var budget = RetryBudget()
        var now = start
        for _ in 0..<600 {
            #expect(budget.tryWithdraw(now: now) == true)
            now = now.advanced(by: .milliseconds(100))
        }
    }

    @Test("With no traffic, retries wanted faster than the reserve are held to 10 a second on average")
    func minimumCapsFasterRetries() {
        var budget = RetryBudget()
        var now = start
        var granted = 0
        for _ in 0..<1_200 {
            if budget.tryWithdraw(now: now) { granted += 1 }
            now = now.advanced(by: .milliseconds(50))
        }
        #expect(granted == 600)
    }

    @Test("The unused reserve does not pile up: after a long quiet spell exactly ttl × 10 retries are available")
    func reserveDoesNotAccumulate() {
        var budget = RetryBudget()
        let later = start.advanced(by: .seconds(1_000))
        #expect(budget.available(now: later) == 100)
        for _ in 0..<100 {
            #expect(budget.tryWithdraw(now: later) == true)
        }
        #expect(budget.tryWithdraw(now: later) == false)
        #expect(budget.available(now: later) == 0)
    }

    @Test("Deposits expire after ttl")
    func depositsExpire() {
        var budget = RetryBudget(ratio: 0.2, minRetriesPerSecond: 0, ttl: .seconds(10))
        for _ in 0..<100 {
            budget.recordRequest(now: start)
        }
        #expect(budget.available(now: start) == 20)
        #expect(budget.available(now: start.advanced(by: .nanoseconds(9_999_999_999))) == 20)
        #expect(budget.available(now: start.advanced(by: .seconds(10))) == 0)
        #expect(budget.tryWithdraw(now: start.advanced(by: .seconds(10))) == false)
    }

    @Test("Spent retries come back once the withdrawal is older than ttl")
    func withdrawalsExpire() {
        var budget = RetryBudget(ratio: 0.5, minRetriesPerSecond: 0)
        for _ in 0..<20 {
            budget.recordRequest(now: start)
        }
        for _ in 0..<10 {
            #expect(budget.tryWithdraw(now: start) == true)
        }
        #expect(budget.tryWithdraw(now: start) == false)
        let fiveSeconds = start.advanced(by: .seconds(5))
        for _ in 0..<20 {
            budget.recordRequest(now: fiveSeconds)
        }
        #expect(budget.available(now: fiveSeconds) == 10)
        // At 10 s the first deposits and the first withdrawals leave the window together.
        #expect(budget.available(now: start.advanced(by: .seconds(10))) == 10)
        // At 15 s everything has left it.
        #expect(budget.available(now: start.advanced(by: .seconds(15))) == 0)
    }

    @Test("A budget with no share and no reserve never allows a retry")
    func nothingAllowed() {
        var budget = RetryBudget(ratio: 0, minRetriesPerSecond: 0)
        for step in 0..<1_000 {
            let now = start.advanced(by: .milliseconds(step))
            budget.recordRequest(now: now)
            #expect(budget.tryWithdraw(now: now) == false)
        }
    }

    @Test("available(now:) is the number of withdrawals that succeed one after another")
    func availableMatchesWithdrawals() {
        var budget = RetryBudget(ratio: 0.25, minRetriesPerSecond: 3, ttl: .seconds(4))
        for step in 0..<37 {
            budget.recordRequest(now: start.advanced(by: .milliseconds(100 * step)))
        }
        let now = start.advanced(by: .milliseconds(3_700))
        let available = budget.available(now: now)
        #expect(available == 37 / 4 + 12)
        for _ in 0..<available {
            #expect(budget.tryWithdraw(now: now) == true)
        }
        #expect(budget.tryWithdraw(now: now) == false)
    }

    @Test("A clock that steps backwards neither expires nor revives anything")
    func clockBackwards() {
        var budget = RetryBudget(ratio: 1, minRetriesPerSecond: 0)
        let later = start.advanced(by: .seconds(5))
        budget.recordRequest(now: later)
        budget.recordRequest(now: start)
        #expect(budget.available(now: start) == 2)
        #expect(budget.tryWithdraw(now: start) == true)
        #expect(budget.available(now: later) == 1)
        #expect(budget.available(now: later.advanced(by: .seconds(10))) == 0)
    }

    @Test("Inputs out of range are clamped")
    func clamping() {
        let budget = RetryBudget(ratio: -1, minRetriesPerSecond: -5, ttl: .zero)
        #expect(budget.ratio == 0)
        #expect(budget.minRetriesPerSecond == 0)
        #expect(budget.ttl == .nanoseconds(10))
        #expect(RetryBudget(ratio: .nan).ratio == 0)
    }
}
