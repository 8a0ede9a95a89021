/// Active health checking: the proxy probes each endpoint of a service and balances only over
/// those that pass. Off unless a service gives one.
public struct HealthCheckSpec: Hashable, Sendable {
    /// What a probe does.
    public enum Probe: Hashable, Sendable {
        /// A `GET` of the path; a 2xx response passes.
        case http(path: String)
        /// Opening a TCP connection; connecting passes.
        case tcp
    }

    public var probe: Probe
    /// Time between probes of one endpoint.
    public var interval: Duration
    /// A probe with no answer in this time fails.
    public var timeout: Duration
    /// Passes in a row that make an unhealthy endpoint healthy again.
    public var healthyThreshold: Int
    /// Failures in a row that make a healthy endpoint unhealthy.
    public var unhealthyThreshold: Int

    public init(probe: Probe, interval: Duration = .seconds(10), timeout: Duration = .seconds(1), healthyThreshold: Int = 2, unhealthyThreshold: Int = 3) {
        self.probe = probe
        self.interval = interval
        self.timeout = timeout
        self.healthyThreshold = healthyThreshold
        self.unhealthyThreshold = unhealthyThreshold
    }
}

extension HealthCheckSpec: Codable {
    enum CodingKeys: String, CodingKey {
        case http, tcp, interval, timeout, healthyThreshold, unhealthyThreshold
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch probe {
        case .http(let path): try container.encode(["path": path], forKey: .http)
        case .tcp: try container.encode([String: String](), forKey: .tcp)
        }
        try container.encodeDuration(interval, forKey: .interval)
        try container.encodeDuration(timeout, forKey: .timeout)
        try container.encode(healthyThreshold, forKey: .healthyThreshold)
        try container.encode(unhealthyThreshold, forKey: .unhealthyThreshold)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let http = try container.decodeIfPresent([String: String].self, forKey: .http) {
            self.init(probe: .http(path: http["path"] ?? "/"))
        } else if container.contains(.tcp) {
            self.init(probe: .tcp)
        } else {
            throw DecodingError.dataCorruptedError(forKey: .http, in: container, debugDescription: "a health check needs http or tcp")
        }
        interval = try container.decodeDurationIfPresent(forKey: .interval) ?? interval
        timeout = try container.decodeDurationIfPresent(forKey: .timeout) ?? timeout
        healthyThreshold = try container.decodeIfPresent(Int.self, forKey: .healthyThreshold) ?? healthyThreshold
        unhealthyThreshold = try container.decodeIfPresent(Int.self, forKey: .unhealthyThreshold) ?? unhealthyThreshold
    }
}
