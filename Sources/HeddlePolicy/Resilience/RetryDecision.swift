/// What `RetryPolicy` decided about a failed attempt: try again, saying why, or give up,
/// saying why not.
public enum RetryDecision: Hashable, Sendable {
    /// Send the request again (after the back-off, and if the retry budget allows).
    case retry(RetryReason)
    /// Answer downstream with the failure.
    case stop(RetryStopReason)
}

/// Why a request is retried. The raw values are stable metric labels.
public enum RetryReason: String, Hashable, Sendable, CaseIterable {
    /// The connection failed or timed out before anything was sent.
    case connectFailed = "connect-failed"
    /// The connection or stream was reset before a response head.
    case reset = "reset"
    /// The attempt timed out.
    case perTryTimeout = "per-try-timeout"
    /// The response status is one the policy retries.
    case status = "status"
    /// The gRPC status is one the policy retries.
    case grpcStatus = "grpc-status"
}

/// Why a failed request is not retried. The raw values are stable metric labels.
public enum RetryStopReason: String, Hashable, Sendable, CaseIterable {
    /// The policy does not retry this kind of failure or this status.
    case notRetryable = "not-retryable"
    /// The request may have reached the upstream, and neither its method is idempotent nor its
    /// route marked retryable.
    case notIdempotent = "not-idempotent"
    /// The request may have reached the upstream, and its body cannot be sent again.
    case bodyNotReplayable = "body-not-replayable"
    /// The failed attempt was the last one the policy allows.
    case attemptsExhausted = "attempts-exhausted"
}
