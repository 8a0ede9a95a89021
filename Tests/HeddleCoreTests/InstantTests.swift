import HeddleCore
import Testing

@Suite("Instant")
struct InstantTests {
    @Test("Advancing adds and subtracts nanoseconds")
    func advances() {
        let instant = Instant(nanoseconds: 5_000_000_000)
        #expect(instant.advanced(by: .milliseconds(1_500)).nanoseconds == 6_500_000_000)
        #expect(instant.advanced(by: .milliseconds(-1_500)).nanoseconds == 3_500_000_000)
        #expect(instant.advanced(by: .milliseconds(1_500)).duration(since: instant) == .milliseconds(1_500))
    }

    @Test("Durations beyond 2⁶³ nanoseconds count as 2⁶³ - 1, and the result saturates instead of trapping")
    func saturates() {
        let instant = Instant(nanoseconds: 5_000_000_000)
        let farthest = Instant(nanoseconds: 5_000_000_000 + UInt64(Int64.max))
        #expect(instant.advanced(by: .seconds(Int64.max / 2)) == farthest)
        #expect(instant.advanced(by: .seconds(99_999_999 * 3_600)) == farthest)
        #expect(Instant(nanoseconds: .max - 1).advanced(by: .seconds(Int64.max / 2)).nanoseconds == .max)
        #expect(Instant(nanoseconds: .max - 1).advanced(by: .nanoseconds(2)).nanoseconds == .max)
        #expect(instant.advanced(by: .seconds(-6)).nanoseconds == 0)
        #expect(instant.advanced(by: .seconds(Int64.min / 2)).nanoseconds == 0)
    }
}
