/// Faults made on purpose, for testing how callers cope: a share of a rule's requests is held
/// back for a while, and a share is answered with an error instead of being sent.
public struct FaultInjection: Hashable, Sendable, Codable {
    /// A delay before the request is sent.
    public struct Delay: Hashable, Sendable {
        /// The share of requests delayed (0…100).
        public var percent: Double
        public var duration: Duration

        public init(percent: Double = 100, duration: Duration) {
            self.percent = percent
            self.duration = duration
        }
    }

    /// An error response in place of the backend's.
    public struct Abort: Hashable, Sendable, Codable {
        /// The share of requests aborted (0…100).
        public var percent: Double
        /// The HTTP status of the answer.
        public var status: Int
        /// For gRPC calls: the `grpc-status` of a trailers-only answer; nil means the status
        /// that `status` maps to.
        public var grpcStatus: GRPCStatusCode?

        public init(percent: Double = 100, status: Int = 503, grpcStatus: GRPCStatusCode? = nil) {
            self.percent = percent
            self.status = status
            self.grpcStatus = grpcStatus
        }
    }

    public var delay: Delay?
    public var abort: Abort?

    public init(delay: Delay? = nil, abort: Abort? = nil) {
        self.delay = delay
        self.abort = abort
    }
}

extension FaultInjection.Delay: Codable {
    enum CodingKeys: String, CodingKey {
        case percent, duration
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(percent, forKey: .percent)
        try container.encodeDuration(duration, forKey: .duration)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard let duration = try container.decodeDurationIfPresent(forKey: .duration) else {
            throw DecodingError.keyNotFound(CodingKeys.duration, DecodingError.Context(codingPath: container.codingPath, debugDescription: "a delay needs a duration"))
        }
        self.init(percent: try container.decodeIfPresent(Double.self, forKey: .percent) ?? 100, duration: duration)
    }
}
