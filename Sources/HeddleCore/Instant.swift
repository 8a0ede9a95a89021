/// A point on a monotonic clock, in nanoseconds. Policy code takes it as an argument instead
/// of reading a clock, so tests drive time by hand.
public struct Instant: Comparable, Hashable, Sendable {
    /// Nanoseconds since an arbitrary, fixed origin.
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) {
        self.nanoseconds = nanoseconds
    }

    public static func < (lhs: Instant, rhs: Instant) -> Bool {
        lhs.nanoseconds < rhs.nanoseconds
    }

    /// The instant `duration` later (a duration beyond 2⁶³ ns counts as 2⁶³ - 1 ns); saturates
    /// instead of overflowing.
    public func advanced(by duration: Duration) -> Instant {
        let nanos = duration.nanosecondsClamped
        if nanos >= 0 {
            let (sum, overflow) = nanoseconds.addingReportingOverflow(UInt64(nanos))
            return Instant(nanoseconds: overflow ? .max : sum)
        }
        let magnitude = nanos.magnitude
        return Instant(nanoseconds: nanoseconds > magnitude ? nanoseconds - magnitude : 0)
    }

    /// The time from `earlier` to `self`; zero when `earlier` is later.
    public func duration(since earlier: Instant) -> Duration {
        guard nanoseconds > earlier.nanoseconds else { return .zero }
        return .nanoseconds(Int64(clamping: nanoseconds - earlier.nanoseconds))
    }
}
