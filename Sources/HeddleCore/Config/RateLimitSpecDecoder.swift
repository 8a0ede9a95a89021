/// Reads a `rateLimit` block, as listeners and the `RateLimit` route filter give it.
enum RateLimitSpecDecoder {
    static func decode(_ node: ConfigNode) -> RateLimitSpec? {
        node.allowOnly(["requestsPerSecond", "burst"])
        guard node.isMapping else { return nil }
        guard let rateNode = node.child("requestsPerSecond") else {
            node.fail("requestsPerSecond is required")
            return nil
        }
        guard let rate = rateNode.int(in: 1...1_000_000, "requests per second") else { return nil }
        let burst = node.child("burst")?.int(in: 1...1_000_000, "requests")
        return RateLimitSpec(requestsPerSecond: rate, burst: burst)
    }
}
