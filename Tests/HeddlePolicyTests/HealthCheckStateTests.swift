import HeddlePolicy
import Testing

@Suite("HealthCheckState")
struct HealthCheckStateTests {
    @Test("Healthy at first; three failed probes in a row make it unhealthy, two passed ones healthy again")
    func thresholds() {
        var state = HealthCheckState()
        #expect(state.isHealthy)
        #expect(state.recordFailure() == nil)
        #expect(state.recordFailure() == nil)
        #expect(state.isHealthy)
        #expect(state.recordFailure() == .becameUnhealthy)
        #expect(!state.isHealthy)
        #expect(state.recordFailure() == nil)
        #expect(state.recordSuccess() == nil)
        #expect(!state.isHealthy)
        #expect(state.recordSuccess() == .becameHealthy)
        #expect(state.isHealthy)
        #expect(state.recordSuccess() == nil)
    }

    @Test("A probe of the other kind breaks a run")
    func runsBreak() {
        var state = HealthCheckState()
        for _ in 0..<10 {
            #expect(state.recordFailure() == nil)
            #expect(state.recordFailure() == nil)
            #expect(state.recordSuccess() == nil)
        }
        #expect(state.isHealthy)
        _ = (0..<3).map { _ in state.recordFailure() }
        #expect(!state.isHealthy)
        for _ in 0..<10 {
            #expect(state.recordSuccess() == nil)
            #expect(state.recordFailure() == nil)
        }
        #expect(!state.isHealthy)
    }

    @Test("Starting unhealthy, the first passing probe alone makes it healthy; later it takes the threshold")
    func startsUnhealthy() {
        var fresh = HealthCheckState(startsHealthy: false)
        #expect(!fresh.isHealthy)
        #expect(fresh.recordSuccess() == .becameHealthy)

        var failedFirst = HealthCheckState(startsHealthy: false)
        #expect(failedFirst.recordFailure() == nil)
        #expect(failedFirst.recordSuccess() == nil)
        #expect(failedFirst.recordSuccess() == .becameHealthy)
    }

    @Test("Custom thresholds, and thresholds below 1 count as 1")
    func customThresholds() {
        var state = HealthCheckState(unhealthyThreshold: 1, healthyThreshold: 5)
        #expect(state.recordFailure() == .becameUnhealthy)
        for _ in 0..<4 {
            #expect(state.recordSuccess() == nil)
        }
        #expect(state.recordSuccess() == .becameHealthy)

        var clamped = HealthCheckState(unhealthyThreshold: 0, healthyThreshold: -2)
        #expect(clamped.unhealthyThreshold == 1 && clamped.healthyThreshold == 1)
        #expect(clamped.recordFailure() == .becameUnhealthy)
        #expect(clamped.recordSuccess() == .becameHealthy)
    }
}
