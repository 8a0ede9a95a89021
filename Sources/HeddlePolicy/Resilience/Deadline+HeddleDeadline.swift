import HeddleCore

/// The `heddle-deadline` header, which Heddle proxies send each other and plain HTTP requests
/// carry: the time left, in whole milliseconds, as one to ten ASCII digits (up to about 115
/// days).
extension Deadline {
    /// The header's name.
    public static let heddleDeadlineHeader = "heddle-deadline"
    /// The largest value with ten digits.
    private static let heddleDeadlineMaxMilliseconds: Int64 = 9_999_999_999

    /// The time left in a `heddle-deadline` value, or nil unless the value is exactly one to
    /// ten ASCII digits. `0` is accepted and means the deadline has passed.
    public static func parseHeddleDeadline(_ value: String) -> Duration? {
        var milliseconds: Int64 = 0
        var digits = 0
        for byte in value.utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 10 else { return nil }
            digits += 1
            milliseconds = milliseconds * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        guard digits > 0 else { return nil }
        return .milliseconds(milliseconds)
    }

    /// `remaining` as a `heddle-deadline` value: milliseconds rounded up, at least 1 (as with
    /// `formatGRPCTimeout`, a passed deadline should not be forwarded), at most ten digits.
    public static func formatHeddleDeadline(_ remaining: Duration) -> String {
        let nanoseconds = max(remaining.nanosecondsClamped, 1)
        return String(min(dividedRoundingUp(nanoseconds, by: 1_000_000), heddleDeadlineMaxMilliseconds))
    }
}
