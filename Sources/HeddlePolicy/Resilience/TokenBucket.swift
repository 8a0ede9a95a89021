import HeddleCore

/// A token-bucket rate limiter: tokens accrue at a steady rate up to `burst`, and each request
/// takes one or is refused.
///
/// The arithmetic is exact integer arithmetic: a token is `periodNanoseconds` units and each
/// elapsed nanosecond adds `tokensPerPeriod` units, so refilling in many small steps gives
/// exactly what one large step gives, and the rate never drifts. The bucket starts full.
public struct TokenBucket: Sendable {
    /// The largest burst: keeps `burst × period` within 64 bits for periods up to 1000 s.
    public static let maxBurst = 1_000_000

    /// Tokens added per `period`.
    public let tokensPerPeriod: UInt64
    /// The period `tokensPerPeriod` refers to, in nanoseconds.
    public let periodNanoseconds: UInt64
    /// The most tokens the bucket holds.
    public let burst: Int

    /// The level in units; one token is `periodNanoseconds` units.
    private var units: UInt64
    /// The most units the bucket holds.
    private let capacity: UInt64
    /// When `units` was last brought up to date; nil before the first call.
    private var updatedAt: Instant?

    /// `tokens` tokens every `period`, holding at most `burst`. `tokens` is at least 1, `period`
    /// at least 1 ns and at most 1000 s, and `burst` between 1 and `maxBurst`.
    public init(tokens: Int, per period: Duration, burst: Int) {
        tokensPerPeriod = UInt64(max(tokens, 1))
        periodNanoseconds = UInt64(min(max(period.nanosecondsClamped, 1), 1_000_000_000_000))
        self.burst = min(max(burst, 1), Self.maxBurst)
        capacity = UInt64(self.burst) * periodNanoseconds
        units = capacity
    }

    /// `ratePerSecond` tokens a second, to a thousandth of a token (at least 0.001), holding at
    /// most `burst`.
    public init(ratePerSecond: Double, burst: Int) {
        let milliTokens = ratePerSecond.isNaN ? 1 : min(max((ratePerSecond * 1_000).rounded(), 1), 1e15)
        self.init(tokens: Int(milliTokens), per: .seconds(1_000), burst: burst)
    }

    /// Takes a token at `now` if there is one; false means refuse the request.
    public mutating func tryTake(now: Instant) -> Bool {
        units = level(at: now)
        updatedAt = max(updatedAt ?? now, now)
        guard units >= periodNanoseconds else { return false }
        units -= periodNanoseconds
        return true
    }

    /// Whole tokens available at `now`.
    public func available(now: Instant) -> Int {
        Int(level(at: now) / periodNanoseconds)
    }

    /// How long from `now` until a token is available: zero when one is, otherwise rounded up
    /// to the nanosecond. A `Retry-After` header rounds it up to whole seconds.
    public func retryAfter(now: Instant) -> Duration {
        let level = level(at: now)
        guard level < periodNanoseconds else { return .zero }
        let missing = periodNanoseconds - level
        let nanoseconds = missing / tokensPerPeriod + (missing % tokensPerPeriod == 0 ? 0 : 1)
        return .nanoseconds(Int64(nanoseconds))
    }

    /// The level in units at `now`; time that goes backwards adds nothing.
    private func level(at now: Instant) -> UInt64 {
        guard let updatedAt, now > updatedAt else { return units }
        let elapsed = now.nanoseconds - updatedAt.nanoseconds
        let (gain, overflow) = elapsed.multipliedReportingOverflow(by: tokensPerPeriod)
        guard !overflow, gain < capacity - units else { return capacity }
        return units + gain
    }
}
