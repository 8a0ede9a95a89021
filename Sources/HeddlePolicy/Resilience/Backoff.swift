import HeddleCore

/// Exponential back-off with full jitter (as in the AWS architecture blog's "Exponential
/// Backoff and Jitter"): before retry `k` (1-based), sleep a uniform random time in
/// `0 ... min(max, base × 2^(k-1))`, so retries from many clients spread out instead of
/// arriving in waves. Defaults: base 25 ms, max 250 ms.
public struct Backoff: Hashable, Sendable {
    /// The default ceiling of the first retry's delay: 25 ms.
    public static let defaultBase = Duration.milliseconds(25)
    /// The default cap on every delay: 250 ms.
    public static let defaultMax = Duration.milliseconds(250)

    /// The ceiling of the first retry's delay, in nanoseconds (at least 0).
    private let baseNanoseconds: UInt64
    /// The cap on every ceiling, in nanoseconds (at least 0).
    private let maxNanoseconds: UInt64

    /// Negative durations count as zero.
    public init(base: Duration = Backoff.defaultBase, max: Duration = Backoff.defaultMax) {
        baseNanoseconds = UInt64(Swift.max(base.nanosecondsClamped, 0))
        maxNanoseconds = UInt64(Swift.max(max.nanosecondsClamped, 0))
    }

    /// The ceiling of the first retry's delay.
    public var base: Duration { .nanoseconds(Int64(baseNanoseconds)) }
    /// The cap on every delay.
    public var max: Duration { .nanoseconds(Int64(maxNanoseconds)) }

    /// The longest delay before retry `attempt`: `min(max, base × 2^(attempt-1))`. Attempts
    /// below 1 count as 1.
    public func ceiling(attempt: Int) -> Duration {
        .nanoseconds(Int64(ceilingNanoseconds(attempt: attempt)))
    }

    /// The delay before retry `attempt` (1 for the first retry): uniform in
    /// `0 ... ceiling(attempt:)`, to the nanosecond.
    public func delay<R: RandomNumberGenerator>(attempt: Int, using rng: inout R) -> Duration {
        let ceiling = ceilingNanoseconds(attempt: attempt)
        return .nanoseconds(Int64(rng.uniform(below: ceiling + 1)))
    }

    private func ceilingNanoseconds(attempt: Int) -> UInt64 {
        let doublings = Swift.max(attempt, 1) - 1
        guard baseNanoseconds > 0 else { return 0 }
        // base × 2^d ≤ max exactly when base ≤ ⌊max / 2^d⌋, which cannot overflow.
        guard doublings < 64, baseNanoseconds <= maxNanoseconds >> doublings else { return maxNanoseconds }
        return baseNanoseconds << doublings
    }
}
