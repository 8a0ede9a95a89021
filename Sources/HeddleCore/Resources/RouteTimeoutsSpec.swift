/// A rule's timeouts, as the Gateway API's `HTTPRouteRule.timeouts`; each one left out falls
/// back to the Proxy's `http` setting.
public struct RouteTimeoutsSpec: Hashable, Sendable {
    /// Time allowed for the response head, all attempts included; nil means the Proxy's
    /// `http.requestTimeout`.
    public var request: Duration?
    /// Time allowed for each attempt's response head (the per-try timeout); nil means no
    /// limit of its own, only `request`'s.
    public var backendRequest: Duration?
    /// Longest pause allowed within a stream once its response has started, for long
    /// streams; nil means the Proxy's `http.idleTimeout`.
    public var idle: Duration?

    public init(request: Duration? = nil, backendRequest: Duration? = nil, idle: Duration? = nil) {
        self.request = request
        self.backendRequest = backendRequest
        self.idle = idle
    }
}

extension RouteTimeoutsSpec: Codable {
    enum CodingKeys: String, CodingKey {
        case request, backendRequest, idle
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeDurationIfPresent(request, forKey: .request)
        try container.encodeDurationIfPresent(backendRequest, forKey: .backendRequest)
        try container.encodeDurationIfPresent(idle, forKey: .idle)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            request: try container.decodeDurationIfPresent(forKey: .request),
            backendRequest: try container.decodeDurationIfPresent(forKey: .backendRequest),
            idle: try container.decodeDurationIfPresent(forKey: .idle))
    }
}
