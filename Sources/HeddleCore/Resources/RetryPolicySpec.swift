/// When and how a rule's requests are tried again. On by default: two attempts, after a
/// connect failure, a reset or a 503 (`UNAVAILABLE` for gRPC), for idempotent requests.
public struct RetryPolicySpec: Hashable, Sendable, Codable {
    /// Attempts in all, the first included (1…10); 1 means no retries.
    public var attempts: Int
    /// The failures without a response that are retried.
    public var on: [RetryCondition]
    /// Response statuses that are retried.
    public var codes: [Int]
    /// gRPC statuses (`grpc-status` of a trailers-only response) that are retried.
    public var grpcCodes: [GRPCStatusCode]
    public var backoff: RetryBackoffSpec
    /// Largest request body kept for sending again, in bytes; a request with a larger body is
    /// not retried.
    public var bodyBufferLimit: Int
    /// Also retry requests whose method is not idempotent (POST, PATCH).
    public var nonIdempotent: Bool

    public init(
        attempts: Int = 2,
        on: [RetryCondition] = [.connectFailure, .reset],
        codes: [Int] = [503],
        grpcCodes: [GRPCStatusCode] = [.unavailable],
        backoff: RetryBackoffSpec = RetryBackoffSpec(),
        bodyBufferLimit: Int = 64 * 1024,
        nonIdempotent: Bool = false
    ) {
        self.attempts = attempts
        self.on = on
        self.codes = codes
        self.grpcCodes = grpcCodes
        self.backoff = backoff
        self.bodyBufferLimit = bodyBufferLimit
        self.nonIdempotent = nonIdempotent
    }
}

/// A failure without a response after which a request may be tried again.
public enum RetryCondition: String, CaseIterable, Hashable, Sendable, Codable {
    /// Connecting to the endpoint failed or timed out; the request was not sent.
    case connectFailure = "connect-failure"
    /// The connection or stream was closed or reset before a response head.
    case reset
    /// No response head within the rule's `timeouts.backendRequest`.
    case perTryTimeout = "per-try-timeout"
}

/// The wait before each retry: exponential from `base`, capped at `max`, with jitter.
public struct RetryBackoffSpec: Hashable, Sendable {
    public var base: Duration
    public var max: Duration

    public init(base: Duration = .milliseconds(25), max: Duration = .milliseconds(250)) {
        self.base = base
        self.max = max
    }
}

extension RetryBackoffSpec: Codable {
    enum CodingKeys: String, CodingKey {
        case base, max
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeDuration(base, forKey: .base)
        try container.encodeDuration(max, forKey: .max)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        base = try container.decodeDurationIfPresent(forKey: .base) ?? base
        max = try container.decodeDurationIfPresent(forKey: .max) ?? max
    }
}
