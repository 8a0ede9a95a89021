/// A local token bucket: `requestsPerSecond` tokens are added each second up to `burst`, each
/// request takes one, and a request that finds none is answered 429. Used by listeners and by
/// a route's `RateLimit` filter; each proxy counts on its own.
public struct RateLimitSpec: Hashable, Sendable, Codable {
    public var requestsPerSecond: Int
    /// The bucket's size: how many requests may come at once after a quiet spell.
    public var burst: Int

    /// A bucket of `burst` tokens, or of one second's worth when `burst` is nil.
    public init(requestsPerSecond: Int, burst: Int? = nil) {
        self.requestsPerSecond = requestsPerSecond
        self.burst = burst ?? requestsPerSecond
    }
}
