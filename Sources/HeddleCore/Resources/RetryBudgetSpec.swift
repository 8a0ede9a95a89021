/// How many retries a service may receive, as a share of its recent requests, so retries
/// cannot multiply the load on a service that is failing.
public struct RetryBudgetSpec: Hashable, Sendable {
    /// Retries allowed per request sent (0…1): 0.2 allows one retry for every five requests.
    public var ratio: Double
    /// Retries allowed each second whatever the ratio, so quiet services can still retry.
    public var minRetriesPerSecond: Int
    /// How long a request counts towards the budget.
    public var ttl: Duration

    public init(ratio: Double = 0.2, minRetriesPerSecond: Int = 10, ttl: Duration = .seconds(10)) {
        self.ratio = ratio
        self.minRetriesPerSecond = minRetriesPerSecond
        self.ttl = ttl
    }
}

extension RetryBudgetSpec: Codable {
    enum CodingKeys: String, CodingKey {
        case ratio, minRetriesPerSecond, ttl
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(ratio, forKey: .ratio)
        try container.encode(minRetriesPerSecond, forKey: .minRetriesPerSecond)
        try container.encodeDuration(ttl, forKey: .ttl)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        ratio = try container.decodeIfPresent(Double.self, forKey: .ratio) ?? ratio
        minRetriesPerSecond = try container.decodeIfPresent(Int.self, forKey: .minRetriesPerSecond) ?? minRetriesPerSecond
        ttl = try container.decodeDurationIfPresent(forKey: .ttl) ?? ttl
    }
}
