import HeddleCore

/// A rule's timeouts, retry policy and request policies (fault injection, rate limit,
/// mirroring), resolved once per config so the request path reads numbers, not specs.
public struct RuleResilience: Sendable {
    /// The whole request's timeout in nanoseconds; nil means the proxy's `http.requestTimeout`.
    public var requestTimeoutNanos: UInt64?
    /// Each attempt's timeout in nanoseconds; 0 means none.
    public var perTryTimeoutNanos: UInt64
    /// The idle timeout of long streams in nanoseconds; nil means the proxy's `http.idleTimeout`.
    public var idleTimeoutNanos: UInt64?
    public var retry: RetryPolicy
    /// Which failures before a response may be retried (`retry.on`).
    public var retryOnConnectFailure: Bool
    public var retryOnReset: Bool
    public var retryOnPerTryTimeout: Bool
    public var backoff: Backoff
    /// Request body bytes kept to replay on a retry; a longer body is not replayed.
    public var bodyBufferLimit: Int
    public var fault: FaultInjector?
    public var rateLimit: RateLimitSpec?
    /// Services (indices) a share of the rule's requests is copied to, with the share in percent.
    public var mirrors: [(service: Int, percent: Double)]

    public init(
        requestTimeoutNanos: UInt64? = nil, perTryTimeoutNanos: UInt64 = 0, idleTimeoutNanos: UInt64? = nil,
        retry: RetryPolicySpec = RetryPolicySpec(), fault: FaultInjection? = nil, rateLimit: RateLimitSpec? = nil,
        mirrors: [(service: Int, percent: Double)] = []
    ) {
        self.requestTimeoutNanos = requestTimeoutNanos
        self.perTryTimeoutNanos = perTryTimeoutNanos
        self.idleTimeoutNanos = idleTimeoutNanos
        self.retry = RetryPolicy(
            maxAttempts: retry.attempts, retryableStatuses: retry.codes,
            retryableGRPCStatuses: retry.grpcCodes.map(\.rawValue), retryNonIdempotent: retry.nonIdempotent)
        retryOnConnectFailure = retry.on.contains(.connectFailure)
        retryOnReset = retry.on.contains(.reset)
        retryOnPerTryTimeout = retry.on.contains(.perTryTimeout)
        backoff = Backoff(base: retry.backoff.base, max: retry.backoff.max)
        bodyBufferLimit = retry.bodyBufferLimit
        self.fault = fault.map { spec in
            FaultInjector(
                delay: spec.delay.map { FaultInjector.Delay(percent: $0.percent, duration: $0.duration) },
                abort: spec.abort.map { FaultInjector.Abort(percent: $0.percent, status: $0.status, grpcStatus: $0.grpcStatus?.rawValue) })
        }
        self.rateLimit = rateLimit
        self.mirrors = mirrors
    }

    /// Whether `failure` is one of the kinds the rule retries (before asking the policy).
    public func allows(_ failure: AttemptFailure) -> Bool {
        switch failure {
        case .connectFailed, .connectTimeout: retryOnConnectFailure
        case .resetBeforeResponse: retryOnReset
        case .perTryTimeout: retryOnPerTryTimeout
        case .status, .grpcStatus: true
        }
    }
}

extension Duration {
    /// Whole nanoseconds, clamped to `UInt64` (negative is 0).
    public var nanosecondsUInt64: UInt64 {
        let (seconds, attoseconds) = components
        if seconds < 0 { return 0 }
        let (scaled, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        let (sum, overflow2) = scaled.addingReportingOverflow(UInt64(attoseconds / 1_000_000_000))
        return overflow2 ? .max : sum
    }
}
