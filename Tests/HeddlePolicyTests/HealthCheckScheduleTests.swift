import HeddlePolicy
import Testing

@Suite("HealthCheckSchedule")
struct HealthCheckScheduleTests {
    @Test("First probes spread over the whole first interval")
    func firstDelaysSpread() {
        let schedule = HealthCheckSchedule(interval: .seconds(10))
        var random = Xoshiro256StarStar(seed: 7)
        let delays = (0..<1000).map { _ in schedule.firstDelay(using: &random) }
        #expect(delays.allSatisfy { $0 >= .zero && $0 < .seconds(10) })
        #expect(delays.min()! < .milliseconds(100))
        #expect(delays.max()! > .milliseconds(9900))
        // Roughly uniform: each tenth of the interval gets a tenth of the draws.
        for tenth in 0..<10 {
            let count = delays.filter { $0 >= .seconds(tenth) && $0 < .seconds(tenth + 1) }.count
            #expect(count > 60 && count < 140, "tenth \(tenth): \(count)")
        }
    }

    @Test("Later probes come an interval apart, stretched by up to the jitter share")
    func nextDelaysJitter() {
        let schedule = HealthCheckSchedule(interval: .seconds(1))
        #expect(schedule.jitter == 0.1)
        var random = Xoshiro256StarStar(seed: 11)
        let delays = (0..<1000).map { _ in schedule.nextDelay(using: &random) }
        #expect(delays.allSatisfy { $0 >= .seconds(1) && $0 < .milliseconds(1100) })
        #expect(delays.min()! < .milliseconds(1005))
        #expect(delays.max()! > .milliseconds(1095))
    }

    @Test("Without jitter every wait is the interval")
    func noJitter() {
        let schedule = HealthCheckSchedule(interval: .milliseconds(200), jitter: 0)
        var random = Xoshiro256StarStar(seed: 1)
        #expect((0..<10).allSatisfy { _ in schedule.nextDelay(using: &random) == .milliseconds(200) })
    }

    @Test("The same seed gives the same schedule")
    func reproducible() {
        let schedule = HealthCheckSchedule(interval: .seconds(5))
        var one = Xoshiro256StarStar(seed: 42)
        var two = Xoshiro256StarStar(seed: 42)
        #expect((0..<5).map { _ in schedule.firstDelay(using: &one) } == (0..<5).map { _ in schedule.firstDelay(using: &two) })
        #expect((0..<5).map { _ in schedule.nextDelay(using: &one) } == (0..<5).map { _ in schedule.nextDelay(using: &two) })
    }

    @Test("Out-of-range settings are clamped; huge intervals do not overflow")
    func clamped() {
        #expect(HealthCheckSchedule(interval: .zero).interval == .milliseconds(1))
        #expect(HealthCheckSchedule(interval: .seconds(1), jitter: -1).jitter == 0)
        #expect(HealthCheckSchedule(interval: .seconds(1), jitter: 5).jitter == 1)
        let huge = HealthCheckSchedule(interval: .seconds(Int64.max), jitter: 1)
        var random = Xoshiro256StarStar(seed: 3)
        #expect(huge.nextDelay(using: &random) > .seconds(9_000_000_000))
    }
}
