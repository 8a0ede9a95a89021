import HeddleCore
import Testing

@Suite("Duration(configText:)")
struct DurationTests {
    @Test("Numbers with ms, s, m or h are read", arguments: [
        ("250ms", Duration.milliseconds(250)),
        ("1.5s", .milliseconds(1500)),
        ("15s", .seconds(15)),
        ("2m", .seconds(120)),
        ("1h", .seconds(3600)),
        ("1.5h", .seconds(5400)),
        ("0.5ms", .microseconds(500)),
        ("0s", .zero),
        ("0ms", .zero),
        ("100ms", .milliseconds(100)),
        ("2000000h", .seconds(7_200_000_000)),
    ])
    func accepted(text: String, expected: Duration) {
        #expect(Duration(configText: text) == expected)
    }

    /// Decimal fractions are not exact in binary, so scaling must round, not truncate:
    /// `8.2 × 1e9` is 8 199 999 999.999… as a `Double`.
    @Test("Decimal seconds are read to the exact nanosecond", arguments: [
        ("8.2s", Duration.milliseconds(8200)),
        ("1.005s", .milliseconds(1005)),
        ("0.3s", .milliseconds(300)),
        ("4.35s", .milliseconds(4350)),
        ("0.1s", .milliseconds(100)),
    ])
    func exactDecimals(text: String, expected: Duration) {
        #expect(Duration(configText: text) == expected)
    }

    @Test("Anything else is refused", arguments: [
        "-1s", "1x", "", "10", "ms", "s", "m", "h", " 1s", "1s ", "1 s", "+1s", "1e3s", "1.2.3s", ".s",
        "1S", "1sec", "1min", "1hs", "1mm", "1d", "NaNs", "infs", "١s",
        "3000000h", "99999999999999999999s", "9e18ms",
    ])
    func refused(text: String) {
        #expect(Duration(configText: text) == nil)
    }

    @Test("configText writes whole seconds, else whole milliseconds, else whole microseconds, else nanoseconds", arguments: [
        (Duration.seconds(15), "15s"),
        (.seconds(120), "120s"),
        (.milliseconds(250), "250ms"),
        (.milliseconds(1500), "1500ms"),
        (.zero, "0s"),
        (.microseconds(500), "500us"),
    ])
    func configText(duration: Duration, text: String) {
        #expect(duration.configText == text)
    }

    /// The admin `/config` output and `HTTPSettings`' Codable form use `configText`, so it must
    /// be something `Duration(configText:)` reads back: no exponent notation for tiny values.
    @Test("configText reads back as the same duration", arguments: [
        Duration.seconds(15), .milliseconds(250), .milliseconds(8200), .microseconds(500), .seconds(3600),
        .microseconds(1500), .microseconds(50), .nanoseconds(1),
    ])
    func roundTrip(duration: Duration) {
        #expect(Duration(configText: duration.configText) == duration)
    }

    @Test("Text that is read writes back the same", arguments: ["250ms", "15s", "8200ms"])
    func textRoundTrip(text: String) throws {
        #expect(try #require(Duration(configText: text)).configText == text)
    }

    @Test("nanosecondsClamped saturates instead of overflowing")
    func clamped() {
        #expect(Duration.seconds(2).nanosecondsClamped == 2_000_000_000)
        #expect(Duration.milliseconds(-3).nanosecondsClamped == -3_000_000)
        #expect(Duration.seconds(Int64.max).nanosecondsClamped == .max)
        #expect(Duration.seconds(Int64.min).nanosecondsClamped == .min)
    }
}
