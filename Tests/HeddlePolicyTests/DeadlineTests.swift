import HeddleCore
import HeddlePolicy
import Testing

@Suite("Deadline")
struct DeadlineTests {
    @Test("grpc-timeout values in every unit",
          arguments: [
              ("1H", Duration.seconds(3_600)), ("5M", .seconds(300)), ("30S", .seconds(30)), ("100m", .milliseconds(100)),
              ("250u", .microseconds(250)), ("99999999n", .nanoseconds(99_999_999)), ("00000001S", .seconds(1)),
              ("0n", .zero), ("99999999H", .seconds(99_999_999 * 3_600)),
          ])
    func parseGRPCTimeout(value: String, expected: Duration) {
        #expect(Deadline.parseGRPCTimeout(value) == expected)
    }

    @Test("Malformed grpc-timeout values are rejected",
          arguments: ["", "S", "123", "123456789n", "000000001S", "1.5S", "-1S", "+1S", " 1S", "1S ", "1 S", "1SS",
                      "1s", "1h", "1x", "S1", "1S1", "\u{FF11}S", "1\u{0}"])
    func rejectGRPCTimeout(value: String) {
        #expect(Deadline.parseGRPCTimeout(value) == nil)
    }

    @Test("grpc-timeout is written in the finest unit that fits eight digits, rounded up",
          arguments: [
              (Duration.nanoseconds(1), "1n"), (.nanoseconds(99_999_999), "99999999n"), (.nanoseconds(100_000_000), "100000u"),
              (.nanoseconds(123_456_789), "123457u"), (.milliseconds(1_500), "1500000u"), (.seconds(100), "100000m"),
              (.seconds(100_000) + .nanoseconds(1), "100001S"), (.seconds(2_592_000), "2592000S"),
              (.seconds(100_000_000), "1666667M"), (.seconds(Int64.max / 2), "2562048H"),
          ])
    func formatGRPCTimeout(remaining: Duration, expected: String) {
        #expect(Deadline.formatGRPCTimeout(remaining) == expected)
    }

    @Test("grpc-timeout is never 0: no time left, or less than a nanosecond, is 1n")
    func formatGRPCTimeoutNeverZero() {
        #expect(Deadline.formatGRPCTimeout(.zero) == "1n")
        #expect(Deadline.formatGRPCTimeout(.seconds(-5)) == "1n")
        #expect(Deadline.formatGRPCTimeout(.nanoseconds(1) / 2) == "1n")
    }

    @Test("A written grpc-timeout reads back no shorter than the time left and at most one unit longer")
    func grpcTimeoutRoundTrip() throws {
        var rng = Xoshiro256StarStar(seed: 8)
        for _ in 0..<10_000 {
            let magnitude = Int64.random(in: 0...18, using: &rng)
            var bound: Int64 = 1
            for _ in 0..<magnitude { bound *= 10 }
            let remaining = Duration.nanoseconds(Int64.random(in: 1...bound, using: &rng))
            let text = Deadline.formatGRPCTimeout(remaining)
            let parsed = try #require(Deadline.parseGRPCTimeout(text))
            #expect(text.count <= 9)
            #expect(parsed >= remaining)
            let unit: Duration = switch text.last {
            case "n": .nanoseconds(1)
            case "u": .microseconds(1)
            case "m": .milliseconds(1)
            case "S": .seconds(1)
            case "M": .seconds(60)
            default: .seconds(3_600)
            }
            #expect(parsed - remaining < unit)
        }
    }

    @Test("heddle-deadline values are whole milliseconds",
          arguments: [("1500", Duration.milliseconds(1_500)), ("0", .zero), ("0000000001", .milliseconds(1)),
                      ("9999999999", .milliseconds(9_999_999_999))])
    func parseHeddleDeadline(value: String, expected: Duration) {
        #expect(Deadline.parseHeddleDeadline(value) == expected)
    }

    @Test("Malformed heddle-deadline values are rejected",
          arguments: ["", "12345678901", "-1", "+1", "1.5", "1ms", " 1", "1 ", "1e3", "\u{FF11}"])
    func rejectHeddleDeadline(value: String) {
        #expect(Deadline.parseHeddleDeadline(value) == nil)
    }

    @Test("heddle-deadline is written in milliseconds rounded up, between 1 and ten digits",
          arguments: [
              (Duration.milliseconds(1_500), "1500"), (.nanoseconds(1), "1"), (.zero, "1"), (.seconds(-3), "1"),
              (.milliseconds(1), "1"), (.nanoseconds(1_000_001), "2"), (.seconds(Int64.max / 2), "9999999999"),
          ])
    func formatHeddleDeadline(remaining: Duration, expected: String) {
        #expect(Deadline.formatHeddleDeadline(remaining) == expected)
    }

    @Test("The effective deadline is the earlier of the route's and the caller's")
    func effective() {
        let now = start
        #expect(Deadline.effective(now: now, routeTimeout: nil, incoming: nil) == nil)
        #expect(Deadline.effective(now: now, routeTimeout: .seconds(15), incoming: nil) == now.advanced(by: .seconds(15)))
        #expect(Deadline.effective(now: now, routeTimeout: nil, incoming: .seconds(2)) == now.advanced(by: .seconds(2)))
        #expect(Deadline.effective(now: now, routeTimeout: .seconds(15), incoming: .seconds(2)) == now.advanced(by: .seconds(2)))
        #expect(Deadline.effective(now: now, routeTimeout: .seconds(1), incoming: .seconds(2)) == now.advanced(by: .seconds(1)))
    }

    @Test("A route timeout of zero sets no deadline; a caller's zero has already passed")
    func zeroes() {
        let now = start
        #expect(Deadline.effective(now: now, routeTimeout: .zero, incoming: nil) == nil)
        #expect(Deadline.effective(now: now, routeTimeout: .zero, incoming: .seconds(3)) == now.advanced(by: .seconds(3)))
        #expect(Deadline.effective(now: now, routeTimeout: .seconds(3), incoming: .zero) == now)
        #expect(Deadline.effective(now: now, routeTimeout: nil, incoming: .seconds(-1)) == now)
    }

    @Test("A caller's far deadline is clamped to 2⁶³ ns instead of overflowing")
    func farDeadline() throws {
        let parsed = try #require(Deadline.parseGRPCTimeout("99999999H"))
        #expect(Deadline.effective(now: start, routeTimeout: nil, incoming: parsed) == start.advanced(by: .nanoseconds(Int64.max)))
        #expect(Deadline.effective(now: start, routeTimeout: .seconds(1), incoming: parsed) == start.advanced(by: .seconds(1)))
    }
}
