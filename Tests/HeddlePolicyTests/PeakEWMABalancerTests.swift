import HeddleCore
import HeddlePolicy
import Testing

@Suite("LoadBalancer: P2C over peak EWMA")
struct PeakEWMABalancerTests {
    @Test("An endpoint ten times slower gets under 5 % of picks once warmed up")
    func avoidsSlowEndpoint() {
        var balancer = LoadBalancer(algorithm: .default, endpoints: endpoints(3))
        let latencies: [Duration] = [.milliseconds(10), .milliseconds(10), .milliseconds(100)]
        var rng = Xoshiro256StarStar(seed: 10)
        var now = start
        var open: [(finishAt: Instant, ticket: BalancerTicket, latency: Duration)] = []
        var counts = [0, 0, 0]
        for step in 0..<20_000 {
            now = now.advanced(by: .milliseconds(1))
            var stillOpen: [(finishAt: Instant, ticket: BalancerTicket, latency: Duration)] = []
            for request in open {
                if request.finishAt <= now {
                    balancer.requestFinished(request.ticket, now: now, latency: request.latency)
                } else {
                    stillOpen.append(request)
                }
            }
            open = stillOpen
            let index = balancer.pick(now: now, hash: nil, using: &rng)!
            if step >= 2_000 { counts[index] += 1 }
            let latency = latencies[index]
            open.append((now.advanced(by: latency), balancer.requestStarted(index, now: now), latency))
        }
        #expect(counts[2] < 18_000 / 20)
        #expect(counts[0] > 7_000 && counts[1] > 7_000)
    }

    @Test("With one eligible endpoint, that endpoint is picked")
    func singleEligible() {
        var balancer = LoadBalancer(algorithm: .default, endpoints: endpoints(5))
        var rng = Xoshiro256StarStar(seed: 11)
        for _ in 0..<100 {
            #expect(balancer.pick(now: start, hash: nil, using: &rng) { $0 == 3 } == 3)
        }
    }

    @Test("The estimate starts at the default and the first response replaces it")
    func firstResponseReplacesDefault() {
        var balancer = LoadBalancer(algorithm: .default, endpoints: endpoints(1))
        #expect(balancer.latencyEstimate(at: 0, now: start) == .milliseconds(30))
        let ticket = balancer.requestStarted(0, now: start)
        balancer.requestFinished(ticket, now: start, latency: .milliseconds(4))
        #expect(balancer.latencyEstimate(at: 0, now: start) == .milliseconds(4))
    }

    @Test("A slower response replaces the estimate at once; a faster one pulls it down by the decay weight")
    func peakAndPullDown() throws {
        var balancer = LoadBalancer(algorithm: .default, endpoints: endpoints(1))
        balancer.requestFinished(balancer.requestStarted(0, now: start), now: start, latency: .milliseconds(10))
        balancer.requestFinished(balancer.requestStarted(0, now: start), now: start, latency: .milliseconds(100))
        #expect(balancer.latencyEstimate(at: 0, now: start) == .milliseconds(100))

        // One second later, with a 10 s decay, w = e^-0.1: the estimate has decayed to
        // 100w ms, and a 20 ms response moves it to 100w·w + 20(1 - w) ms.
        let later = start.advanced(by: .seconds(1))
        balancer.requestFinished(balancer.requestStarted(0, now: later), now: later, latency: .milliseconds(20))
        let w = 0.904_837_418_035_959_6
        let expected = 100 * w * w + 20 * (1 - w)
        let estimate = try #require(balancer.latencyEstimate(at: 0, now: later)).inMilliseconds
        #expect(abs(estimate - expected) < 0.001)
    }

    @Test("Without responses the estimate decays toward zero, so an idle endpoint becomes cheap again")
    func decaysTowardZero() throws {
        var balancer = LoadBalancer(algorithm: .default, endpoints: endpoints(2))
        balancer.requestFinished(balancer.requestStarted(0, now: start), now: start, latency: .milliseconds(100))
        balancer.requestFinished(balancer.requestStarted(1, now: start), now: start, latency: .milliseconds(5))

        let oneDecay = start.advanced(by: .seconds(10))
        let slow = try #require(balancer.latencyEstimate(at: 0, now: oneDecay)).inMilliseconds
        let fast = try #require(balancer.latencyEstimate(at: 1, now: oneDecay)).inMilliseconds
        #expect(abs(slow - 100 / 2.718_281_828) < 0.001)
        #expect(abs(fast - 5 / 2.718_281_828) < 0.001)

        let muchLater = start.advanced(by: .seconds(200))
        #expect(try #require(balancer.latencyEstimate(at: 0, now: muchLater)).inMilliseconds < 0.001)
        #expect(try #require(balancer.latencyEstimate(at: 1, now: muchLater)).inMilliseconds < 0.001)
    }

    @Test("A slow endpoint left alone is tried again once its estimate has decayed below a busy one's cost")
    func slowEndpointIsRetried() {
        var balancer = LoadBalancer(
            algorithm: .p2cPeakEWMA(decay: .seconds(1), defaultRTT: .milliseconds(10)),
            endpoints: endpoints(2)
        )
        balancer.requestFinished(balancer.requestStarted(0, now: start), now: start, latency: .milliseconds(500))
        balancer.requestFinished(balancer.requestStarted(1, now: start), now: start, latency: .milliseconds(20))
        _ = balancer.requestStarted(1, now: start)
        let busy = balancer.requestStarted(1, now: start)
        var rng = Xoshiro256StarStar(seed: 12)
        #expect(balancer.pick(now: start, hash: nil, using: &rng) == 1)
        // The busy endpoint keeps answering in 20 ms; the slow one, left alone, decays.
        let later = start.advanced(by: .seconds(10))
        balancer.requestFinished(busy, now: later, latency: .milliseconds(20))
        _ = balancer.requestStarted(1, now: later)
        #expect(balancer.pick(now: later, hash: nil, using: &rng) == 0)
    }

    @Test("An endpoint not yet answered is taken to be as fast as its rival: it gets its share at once")
    func newEndpointGetsItsShareAtOnce() {
        var balancer = LoadBalancer(algorithm: .default, endpoints: endpoints(2))
        balancer.requestFinished(balancer.requestStarted(0, now: start), now: start, latency: .milliseconds(1))
        _ = balancer.requestStarted(0, now: start)
        var rng = Xoshiro256StarStar(seed: 3)
        // Endpoint 0: 1 ms × 2 (one in flight); endpoint 1, never answered: 1 ms × 1.
        #expect(balancer.pick(now: start, hash: nil, using: &rng) == 1)
    }

    @Test("Other algorithms keep no latency estimate")
    func noEstimateElsewhere() {
        let balancer = LoadBalancer(algorithm: .leastRequest, endpoints: endpoints(1))
        #expect(balancer.latencyEstimate(at: 0, now: start) == nil)
    }
}
