/// Whether a failed attempt may be tried again: the one place that rule lives.
///
/// - A connect failure or connect timeout is always safe to retry: nothing reached the upstream.
/// - A reset before the response, a per-try timeout, a retryable HTTP status or a retryable
///   gRPC status may have come after the upstream acted on the request, so they are retried
///   only when the method is idempotent or the route is marked retryable, and only when the
///   body can be sent again (`RetryRequest.bodyCanBeResent`).
/// - Nothing is retried once `maxAttempts` attempts (the first included) have been made.
///
/// The checks run in that order, so a stop names the first rule that forbids the retry. The
/// retry budget and the back-off are the caller's next steps after `.retry`.
///
/// Defaults: 3 attempts in all, HTTP status 503, gRPC status 14 (UNAVAILABLE), non-idempotent
/// requests not retried.
public struct RetryPolicy: Hashable, Sendable {
    /// The default number of attempts, the first included: 3.
    public static let defaultMaxAttempts = 3
    /// The HTTP statuses retried by default: 503 Service Unavailable.
    public static let defaultRetryableStatuses = [503]
    /// The gRPC statuses retried by default: 14, UNAVAILABLE.
    public static let defaultRetryableGRPCStatuses = [14]

    /// Attempts in all, the first included; 1 disables retries.
    public var maxAttempts: Int
    /// HTTP response statuses worth another attempt; looked up linearly, so keep it short.
    public var retryableStatuses: [Int]
    /// gRPC statuses worth another attempt; looked up linearly, so keep it short.
    public var retryableGRPCStatuses: [Int]
    /// The route is marked retryable: its non-idempotent requests are retried like idempotent
    /// ones.
    public var retryNonIdempotent: Bool

    public init(
        maxAttempts: Int = RetryPolicy.defaultMaxAttempts,
        retryableStatuses: [Int] = RetryPolicy.defaultRetryableStatuses,
        retryableGRPCStatuses: [Int] = RetryPolicy.defaultRetryableGRPCStatuses,
        retryNonIdempotent: Bool = false
    ) {
        self.maxAttempts = maxAttempts
        self.retryableStatuses = retryableStatuses
        self.retryableGRPCStatuses = retryableGRPCStatuses
        self.retryNonIdempotent = retryNonIdempotent
    }

    /// Decides about attempt number `attempt` (1 for the first) of `request`, which ended in
    /// `failure`.
    public func decide(after failure: AttemptFailure, attempt: Int, request: RetryRequest) -> RetryDecision {
        let reason: RetryReason
        switch failure {
        case .connectFailed, .connectTimeout:
            return attempt < maxAttempts ? .retry(.connectFailed) : .stop(.attemptsExhausted)
        case .resetBeforeResponse:
            reason = .reset
        case .perTryTimeout:
            reason = .perTryTimeout
        case let .status(status):
            guard retryableStatuses.contains(status) else { return .stop(.notRetryable) }
            reason = .status
        case let .grpcStatus(status):
            guard retryableGRPCStatuses.contains(status) else { return .stop(.notRetryable) }
            reason = .grpcStatus
        }
        guard request.isIdempotent || retryNonIdempotent else { return .stop(.notIdempotent) }
        guard request.bodyCanBeResent else { return .stop(.bodyNotReplayable) }
        guard attempt < maxAttempts else { return .stop(.attemptsExhausted) }
        return .retry(reason)
    }
}
