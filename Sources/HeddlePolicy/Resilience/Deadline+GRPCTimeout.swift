import HeddleCore

/// The `grpc-timeout` header (gRPC over HTTP/2, "Timeout"): one to eight ASCII digits and a
/// unit, `H` hours, `M` minutes, `S` seconds, `m` milliseconds, `u` microseconds, `n`
/// nanoseconds.
extension Deadline {
    /// The largest value with eight digits.
    private static let grpcTimeoutMaxValue: Int64 = 99_999_999

    /// The units from finest to coarsest, with their length in nanoseconds.
    private static let grpcTimeoutUnits: [(unit: String, nanoseconds: Int64)] = [
        ("n", 1), ("u", 1_000), ("m", 1_000_000), ("S", 1_000_000_000),
        ("M", 60_000_000_000), ("H", 3_600_000_000_000),
    ]

    /// The timeout in a `grpc-timeout` value, or nil unless the value is exactly one to eight
    /// ASCII digits followed by one unit letter: no sign, space, fraction or other unit.
    /// Zero (`0n`) is accepted, as gRPC implementations do, and means the deadline has passed.
    public static func parseGRPCTimeout(_ value: String) -> Duration? {
        var number: Int64 = 0
        var digits = 0
        var unit: UInt8?
        for byte in value.utf8 {
            guard unit == nil else { return nil }
            if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                digits += 1
                guard digits <= 8 else { return nil }
                number = number * 10 + Int64(byte - UInt8(ascii: "0"))
            } else {
                unit = byte
            }
        }
        guard digits > 0, let unit else { return nil }
        switch unit {
        case UInt8(ascii: "H"): return .seconds(number * 3_600)
        case UInt8(ascii: "M"): return .seconds(number * 60)
        case UInt8(ascii: "S"): return .seconds(number)
        case UInt8(ascii: "m"): return .milliseconds(number)
        case UInt8(ascii: "u"): return .microseconds(number)
        case UInt8(ascii: "n"): return .nanoseconds(number)
        default: return nil
        }
    }

    /// `remaining` as a `grpc-timeout` value in the finest unit whose count fits in eight
    /// digits, rounded up so the next hop never gets more time than is left.
    ///
    /// Never `0`: anything under a nanosecond, zero and negative durations included, is `1n`.
    /// A request whose deadline has passed should be failed with DEADLINE_EXCEEDED rather than
    /// forwarded; one that is forwarded anyway times out at once upstream.
    public static func formatGRPCTimeout(_ remaining: Duration) -> String {
        let nanoseconds = max(remaining.nanosecondsClamped, 1)
        for (unit, length) in grpcTimeoutUnits {
            let count = dividedRoundingUp(nanoseconds, by: length)
            if count <= grpcTimeoutMaxValue { return String(count) + unit }
        }
        return String(grpcTimeoutMaxValue) + "H"
    }
}
