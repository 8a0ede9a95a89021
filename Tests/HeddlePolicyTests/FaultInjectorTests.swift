import HeddlePolicy
import Testing

@Suite("FaultInjector")
struct FaultInjectionTests {
    @Test("No faults, or faults at 0 %, leave every request alone")
    func none() {
        var rng = Xoshiro256StarStar(seed: 1)
        let empty = FaultInjector()
        let zero = FaultInjector(delay: .init(percent: 0, duration: .seconds(1)), abort: .init(percent: 0, status: 503))
        for _ in 0..<1_000 {
            #expect(empty.decide(using: &rng) == .none)
            #expect(zero.decide(using: &rng) == .none)
        }
    }

    @Test("Faults at 100 % hit every request without drawing")
    func always() {
        let abort = FaultInjector.Abort(percent: 100, status: 503, grpcStatus: 14)
        let both = FaultInjector(delay: .init(percent: 100, duration: .milliseconds(200)), abort: abort)
        var rng = Xoshiro256StarStar(seed: 2)
        var untouched = Xoshiro256StarStar(seed: 2)
        for _ in 0..<100 {
            #expect(both.decide(using: &rng) == .delayThenAbort(.milliseconds(200), abort))
        }
        #expect(rng.next() == untouched.next())
        #expect(FaultInjector(abort: abort).decide(using: &rng) == .abort(abort))
        #expect(FaultInjector(delay: .init(percent: 100, duration: .seconds(3))).decide(using: &rng) == .delay(.seconds(3)))
    }

    @Test("Delay and abort are drawn independently at their percentages")
    func independentShares() {
        let abort = FaultInjector.Abort(percent: 10, status: 500)
        let faults = FaultInjector(delay: .init(percent: 20, duration: .milliseconds(50)), abort: abort)
        var rng = Xoshiro256StarStar(seed: 3)
        var counts: [FaultInjector.Decision: Int] = [:]
        for _ in 0..<200_000 {
            counts[faults.decide(using: &rng), default: 0] += 1
        }
        let share = { (decision: FaultInjector.Decision) in Double(counts[decision, default: 0]) / 2_000 }
        #expect(abs(share(.none) - 72) < 0.5)
        #expect(abs(share(.delay(.milliseconds(50))) - 18) < 0.5)
        #expect(abs(share(.abort(abort)) - 8) < 0.5)
        #expect(abs(share(.delayThenAbort(.milliseconds(50), abort)) - 2) < 0.3)
    }

    @Test("Small percentages hold to a ten-thousandth of a percent")
    func smallPercentages() {
        let faults = FaultInjector(abort: .init(percent: 0.05, status: 429))
        var rng = Xoshiro256StarStar(seed: 4)
        var aborted = 0
        for _ in 0..<1_000_000 {
            if faults.decide(using: &rng) != .none { aborted += 1 }
        }
        #expect((400...600).contains(aborted))
        #expect(FaultInjector.Delay(percent: 0.000_04, duration: .zero).percent == 0)
        #expect(FaultInjector.Delay(percent: 0.000_06, duration: .zero).percent == 0.0001)
    }

    @Test("Percentages are clamped to 0 ... 100 and NaN is 0; negative delays are zero")
    func clamping() {
        #expect(FaultInjector.Delay(percent: 150, duration: .seconds(1)).percent == 100)
        #expect(FaultInjector.Delay(percent: -5, duration: .seconds(1)).percent == 0)
        #expect(FaultInjector.Abort(percent: .nan, status: 503).percent == 0)
        #expect(FaultInjector.Abort(percent: .infinity, status: 503).percent == 100)
        #expect(FaultInjector.Delay(percent: 50, duration: .seconds(-1)).duration == .zero)
    }

    @Test("The abort carries its HTTP status and optional gRPC status")
    func abortStatus() {
        let grpc = FaultInjector.Abort(percent: 100, status: 503, grpcStatus: 14)
        let http = FaultInjector.Abort(percent: 100, status: 429)
        #expect(grpc.status == 503 && grpc.grpcStatus == 14)
        #expect(http.status == 429 && http.grpcStatus == nil)
    }
}
