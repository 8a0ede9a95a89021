extension Duration {
    /// Reads a configuration duration: a non-negative number followed by `ns`, `us`, `ms`, `s`,
    /// `m` or `h` (`250ms`, `1.5s`, `15s`, `2m`), rounded to the nanosecond. Returns nil for
    /// anything else.
    public init?(configText text: String) {
        let units: [(suffix: String, nanoseconds: Double)] = [
            ("ns", 1), ("us", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9),
        ]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            if suffix == "s", let last = number.last, "mun".contains(last) { continue }
            guard !number.isEmpty, number.allSatisfy({ $0.isNumber || $0 == "." }),
                  let value = Double(number), value.isFinite, value >= 0, value * scale < 9e18
            else { return nil }
            self = .nanoseconds(Int64((value * scale).rounded()))
            return
        }
        return nil
    }

    /// The duration in whole nanoseconds, clamped to `Int64`.
    public var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled.addingReportingOverflow(attoseconds / 1_000_000_000).overflow
            ? .max : scaled + attoseconds / 1_000_000_000
    }

    /// The duration as configuration text that reads back exactly, such as `250ms` or `15s`.
    public var configText: String {
        let nanos = nanosecondsClamped
        if nanos % 1_000_000_000 == 0 { return "\(nanos / 1_000_000_000)s" }
        if nanos % 1_000_000 == 0 { return "\(nanos / 1_000_000)ms" }
        if nanos % 1_000 == 0 { return "\(nanos / 1_000)us" }
        return "\(nanos)ns"
    }
}
