import HeddleCore

/// Caps retries at a share of recent requests, as Finagle's and Linkerd's retry budgets do, so
/// that retrying a failing service cannot multiply its load.
///
/// Over any window of `ttl`, retries stay below `ratio × requests + minRetriesPerSecond × ttl`:
/// each original request deposits `ratio` of a retry, each retry withdraws one, and a reserve
/// of `minRetriesPerSecond × ttl` retries lets a quiet service retry at all. Deposits and
/// withdrawals expire `ttl` after they were made, so an unused reserve does not accumulate and a
/// spent one comes back.
///
/// Time is cut into `bucketCount` slots of `ttl / bucketCount` kept in a ring, so every call is
/// O(1) and allocation-free; an entry expires between `ttl × (1 - 1/bucketCount)` and `ttl`
/// after it was made. Defaults: ratio 0.2, 10 retries per second, ttl 10 s.
///
/// Only first attempts are deposited: retries themselves must not call `recordRequest`.
public struct RetryBudget: Sendable {
    /// The default share of requests that may be retried: 20 %.
    public static let defaultRatio = 0.2
    /// The default reserve: 10 retries per second, with no traffic at all.
    public static let defaultMinRetriesPerSecond = 10
    /// The default window: 10 s.
    public static let defaultTTL = Duration.seconds(10)
    /// How many slots the window is cut into.
    public static let bucketCount = 10

    /// The units one retry costs; a deposit is `ratio` of it, rounded.
    private static let unitsPerRetry: Int64 = 1_000_000

    /// The share of requests that may be retried, as given.
    public let ratio: Double
    /// The reserve, in retries per second, as given.
    public let minRetriesPerSecond: Int
    /// How long deposits and withdrawals count.
    public let ttl: Duration

    private let depositUnits: Int64
    private let reserveUnits: Int64
    private let bucketNanoseconds: UInt64
    /// Net units deposited in each slot; `buckets[slot % bucketCount]`.
    private var buckets: [Int64]
    /// The sum of `buckets`.
    private var windowUnits: Int64 = 0
    /// The slot (`nanoseconds / bucketNanoseconds`) of the latest call.
    private var currentSlot: UInt64 = 0

    /// A budget. `ratio` is clamped to 0 ... 1000, `minRetriesPerSecond` to 0 ... 1 000 000 and
    /// `ttl` to at least `bucketCount` nanoseconds.
    public init(
        ratio: Double = RetryBudget.defaultRatio,
        minRetriesPerSecond: Int = RetryBudget.defaultMinRetriesPerSecond,
        ttl: Duration = RetryBudget.defaultTTL
    ) {
        let clampedRatio = ratio.isNaN ? 0 : min(max(ratio, 0), 1_000)
        let clampedMinimum = min(max(minRetriesPerSecond, 0), 1_000_000)
        let ttlNanoseconds = max(ttl.nanosecondsClamped, Int64(Self.bucketCount))
        self.ratio = clampedRatio
        self.minRetriesPerSecond = clampedMinimum
        self.ttl = .nanoseconds(ttlNanoseconds)
        depositUnits = Int64((clampedRatio * Double(Self.unitsPerRetry)).rounded())
        // minimum × ttl in retries, rounded down and capped at 10¹² so the units fit in Int64.
        let reserveRetries = Double(clampedMinimum) * Double(ttlNanoseconds) / 1e9
        reserveUnits = Int64(min(reserveRetries.rounded(.down), 1e12)) * Self.unitsPerRetry
        bucketNanoseconds = UInt64(ttlNanoseconds) / UInt64(Self.bucketCount)
        buckets = [Int64](repeating: 0, count: Self.bucketCount)
    }

    /// Deposits an original request (not a retry) made at `now`.
    public mutating func recordRequest(now: Instant) {
        advance(to: now)
        add(depositUnits)
    }

    /// Spends one retry at `now` if the budget has one; false means the retry must not be made.
    public mutating func tryWithdraw(now: Instant) -> Bool {
        advance(to: now)
        guard reserveUnits + windowUnits >= Self.unitsPerRetry else { return false }
        add(-Self.unitsPerRetry)
        return true
    }

    /// How many retries could be made at `now`, one after another.
    public func available(now: Instant) -> Int {
        let slot = now.nanoseconds / bucketNanoseconds
        var units = windowUnits
        if slot > currentSlot {
            let expired = min(slot - currentSlot, UInt64(Self.bucketCount))
            for step in 1...expired {
                units -= buckets[Int((currentSlot + step) % UInt64(Self.bucketCount))]
            }
        }
        return Int(max(reserveUnits + units, 0) / Self.unitsPerRetry)
    }

    /// Moves the window to the slot of `now`, clearing the slots that went out of it. Time that
    /// goes backwards counts as the current slot.
    private mutating func advance(to now: Instant) {
        let slot = now.nanoseconds / bucketNanoseconds
        guard slot > currentSlot else { return }
        let expired = min(slot - currentSlot, UInt64(Self.bucketCount))
        for step in 1...expired {
            let index = Int((currentSlot + step) % UInt64(Self.bucketCount))
            windowUnits -= buckets[index]
            buckets[index] = 0
        }
        currentSlot = slot
    }

    private mutating func add(_ units: Int64) {
        buckets[Int(currentSlot % UInt64(Self.bucketCount))] += units
        windowUnits += units
    }
}
