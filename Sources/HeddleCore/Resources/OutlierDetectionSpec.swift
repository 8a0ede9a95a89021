/// Passive health checking: endpoints that fail are ejected from balancing for a while, longer
/// each time they are ejected again. On by default.
public struct OutlierDetectionSpec: Hashable, Sendable {
    public var enabled: Bool
    /// Failures in a row (5xx, connect failures, resets, timeouts) that eject an endpoint;
    /// 0 turns this check off.
    public var consecutiveFailures: Int
    /// How often success rates are computed and ejections ended.
    public var interval: Duration
    /// The first ejection lasts this long; each further one of the same endpoint lasts a
    /// multiple of it.
    public var baseEjectionTime: Duration
    /// The longest an ejection may last.
    public var maxEjectionTime: Duration
    /// The largest share of the service's endpoints ejected at once (0…100).
    public var maxEjectionPercent: Int
    public var successRate: SuccessRateSpec

    public init(
        enabled: Bool = true,
        consecutiveFailures: Int = 5,
        interval: Duration = .seconds(10),
        baseEjectionTime: Duration = .seconds(30),
        maxEjectionTime: Duration = .seconds(300),
        maxEjectionPercent: Int = 50,
        successRate: SuccessRateSpec = SuccessRateSpec()
    ) {
        self.enabled = enabled
        self.consecutiveFailures = consecutiveFailures
        self.interval = interval
        self.baseEjectionTime = baseEjectionTime
        self.maxEjectionTime = maxEjectionTime
        self.maxEjectionPercent = maxEjectionPercent
        self.successRate = successRate
    }
}

/// Success-rate ejection: each interval, an endpoint whose success rate is more than
/// `stdevFactor` standard deviations below the mean of its service is ejected.
public struct SuccessRateSpec: Hashable, Sendable, Codable {
    public var enabled: Bool
    /// Fewer endpoints with enough requests than this, and the check is skipped.
    public var minimumHosts: Int
    /// Requests an endpoint needs in an interval to be judged.
    public var requestVolume: Int
    public var stdevFactor: Double

    public init(enabled: Bool = true, minimumHosts: Int = 3, requestVolume: Int = 100, stdevFactor: Double = 1.9) {
        self.enabled = enabled
        self.minimumHosts = minimumHosts
        self.requestVolume = requestVolume
        self.stdevFactor = stdevFactor
    }
}

extension OutlierDetectionSpec: Codable {
    enum CodingKeys: String, CodingKey {
        case enabled, consecutiveFailures, interval, baseEjectionTime, maxEjectionTime, maxEjectionPercent, successRate
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(enabled, forKey: .enabled)
        try container.encode(consecutiveFailures, forKey: .consecutiveFailures)
        try container.encodeDuration(interval, forKey: .interval)
        try container.encodeDuration(baseEjectionTime, forKey: .baseEjectionTime)
        try container.encodeDuration(maxEjectionTime, forKey: .maxEjectionTime)
        try container.encode(maxEjectionPercent, forKey: .maxEjectionPercent)
        try container.encode(successRate, forKey: .successRate)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        enabled = try container.decodeIfPresent(Bool.self, forKey: .enabled) ?? enabled
        consecutiveFailures = try container.decodeIfPresent(Int.self, forKey: .consecutiveFailures) ?? consecutiveFailures
        interval = try container.decodeDurationIfPresent(forKey: .interval) ?? interval
        baseEjectionTime = try container.decodeDurationIfPresent(forKey: .baseEjectionTime) ?? baseEjectionTime
        maxEjectionTime = try container.decodeDurationIfPresent(forKey: .maxEjectionTime) ?? maxEjectionTime
        maxEjectionPercent = try container.decodeIfPresent(Int.self, forKey: .maxEjectionPercent) ?? maxEjectionPercent
        successRate = try container.decodeIfPresent(SuccessRateSpec.self, forKey: .successRate) ?? successRate
    }
}
