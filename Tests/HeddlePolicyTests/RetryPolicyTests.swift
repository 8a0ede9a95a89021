import HeddlePolicy
import Testing

@Suite("RetryPolicy")
struct RetryPolicyTests {
    /// A GET without a body.
    let get = RetryRequest(method: "GET", bodyReplayable: true, bodyBytesSent: false)
    /// A POST whose body was streamed upstream and not kept.
    let streamedPost = RetryRequest(method: "POST", bodyReplayable: false, bodyBytesSent: true)
    /// A POST whose body was buffered whole.
    let bufferedPost = RetryRequest(method: "POST", bodyReplayable: true, bodyBytesSent: true)

    @Test("Connect failures are retried whatever the method and body: nothing was sent")
    func connectFailures() {
        let policy = RetryPolicy()
        for failure in [AttemptFailure.connectFailed, .connectTimeout] {
            #expect(policy.decide(after: failure, attempt: 1, request: streamedPost) == .retry(.connectFailed))
            #expect(policy.decide(after: failure, attempt: 2, request: get) == .retry(.connectFailed))
            #expect(policy.decide(after: failure, attempt: 3, request: get) == .stop(.attemptsExhausted))
        }
    }

    @Test("A reset or per-try timeout is retried for an idempotent method with a replayable body")
    func idempotentRetried() {
        let policy = RetryPolicy()
        #expect(policy.decide(after: .resetBeforeResponse, attempt: 1, request: get) == .retry(.reset))
        #expect(policy.decide(after: .perTryTimeout, attempt: 1, request: get) == .retry(.perTryTimeout))
        let bufferedPut = RetryRequest(method: "PUT", bodyReplayable: true, bodyBytesSent: true)
        #expect(policy.decide(after: .resetBeforeResponse, attempt: 2, request: bufferedPut) == .retry(.reset))
    }

    @Test("A reset, timeout or retryable status on a non-idempotent method stops, unless the route is marked retryable")
    func nonIdempotent() {
        let cases: [(AttemptFailure, RetryReason)] = [
            (.resetBeforeResponse, .reset), (.perTryTimeout, .perTryTimeout), (.status(503), .status), (.grpcStatus(14), .grpcStatus),
        ]
        let strict = RetryPolicy()
        let marked = RetryPolicy(retryNonIdempotent: true)
        for (failure, reason) in cases {
            #expect(strict.decide(after: failure, attempt: 1, request: bufferedPost) == .stop(.notIdempotent))
            #expect(marked.decide(after: failure, attempt: 1, request: bufferedPost) == .retry(reason))
        }
    }

    @Test("A body that went upstream and was not kept cannot be sent again, even on a retryable route")
    func bodyNotReplayable() {
        let marked = RetryPolicy(retryNonIdempotent: true)
        #expect(marked.decide(after: .resetBeforeResponse, attempt: 1, request: streamedPost) == .stop(.bodyNotReplayable))
        let streamedPut = RetryRequest(method: "PUT", bodyReplayable: false, bodyBytesSent: true)
        #expect(RetryPolicy().decide(after: .perTryTimeout, attempt: 1, request: streamedPut) == .stop(.bodyNotReplayable))
    }

    @Test("A streaming body none of which was sent can still go to a new attempt")
    func unsentStreamingBody() {
        let unsent = RetryRequest(method: "PUT", bodyReplayable: false, bodyBytesSent: false)
        #expect(unsent.bodyCanBeResent)
        #expect(RetryPolicy().decide(after: .resetBeforeResponse, attempt: 1, request: unsent) == .retry(.reset))
    }

    @Test("Only listed statuses are retried: 503 by default, others when configured")
    func statuses() {
        let policy = RetryPolicy()
        #expect(policy.decide(after: .status(503), attempt: 1, request: get) == .retry(.status))
        for status in [200, 404, 500, 502, 504] {
            #expect(policy.decide(after: .status(status), attempt: 1, request: get) == .stop(.notRetryable))
        }
        let custom = RetryPolicy(retryableStatuses: [502, 504])
        #expect(custom.decide(after: .status(502), attempt: 1, request: get) == .retry(.status))
        #expect(custom.decide(after: .status(504), attempt: 1, request: get) == .retry(.status))
        #expect(custom.decide(after: .status(503), attempt: 1, request: get) == .stop(.notRetryable))
    }

    @Test("Only listed gRPC statuses are retried: UNAVAILABLE by default, others when configured")
    func grpcStatuses() {
        let policy = RetryPolicy()
        #expect(policy.decide(after: .grpcStatus(14), attempt: 1, request: bufferedPost.idempotent) == .retry(.grpcStatus))
        for status in [0, 2, 4, 13] {
            #expect(policy.decide(after: .grpcStatus(status), attempt: 1, request: get) == .stop(.notRetryable))
        }
        let custom = RetryPolicy(retryableGRPCStatuses: [4, 8])
        #expect(custom.decide(after: .grpcStatus(8), attempt: 1, request: get) == .retry(.grpcStatus))
        #expect(custom.decide(after: .grpcStatus(14), attempt: 1, request: get) == .stop(.notRetryable))
    }

    @Test("A stop names the first rule that forbids the retry: kind, then method, then body, then attempts")
    func ruleOrder() {
        let policy = RetryPolicy(maxAttempts: 2)
        #expect(policy.decide(after: .status(500), attempt: 9, request: streamedPost) == .stop(.notRetryable))
        #expect(policy.decide(after: .status(503), attempt: 9, request: streamedPost) == .stop(.notIdempotent))
        let streamedGet = RetryRequest(method: "GET", bodyReplayable: false, bodyBytesSent: true)
        #expect(policy.decide(after: .status(503), attempt: 9, request: streamedGet) == .stop(.bodyNotReplayable))
        #expect(policy.decide(after: .status(503), attempt: 2, request: get) == .stop(.attemptsExhausted))
    }

    @Test("maxAttempts counts the first attempt: 3 allows two retries, 1 allows none")
    func attempts() {
        let three = RetryPolicy()
        #expect(three.decide(after: .resetBeforeResponse, attempt: 1, request: get) == .retry(.reset))
        #expect(three.decide(after: .resetBeforeResponse, attempt: 2, request: get) == .retry(.reset))
        #expect(three.decide(after: .resetBeforeResponse, attempt: 3, request: get) == .stop(.attemptsExhausted))
        let one = RetryPolicy(maxAttempts: 1)
        #expect(one.decide(after: .connectFailed, attempt: 1, request: get) == .stop(.attemptsExhausted))
    }

    @Test("The RFC 9110 idempotent methods, case-sensitively",
          arguments: [("GET", true), ("HEAD", true), ("OPTIONS", true), ("TRACE", true), ("PUT", true), ("DELETE", true),
                      ("POST", false), ("PATCH", false), ("CONNECT", false), ("get", false), ("PURGE", false), ("", false)])
    func idempotentMethods(method: String, idempotent: Bool) {
        #expect(RetryRequest.isIdempotent(method: method) == idempotent)
        #expect(RetryRequest(method: method[...], bodyReplayable: true, bodyBytesSent: false).isIdempotent == idempotent)
    }

    @Test("Metric labels are stable")
    func labels() {
        #expect(RetryReason.allCases.map(\.rawValue) == ["connect-failed", "reset", "per-try-timeout", "status", "grpc-status"])
        #expect(RetryStopReason.allCases.map(\.rawValue) == ["not-retryable", "not-idempotent", "body-not-replayable", "attempts-exhausted"])
    }
}

extension RetryRequest {
    /// The same request with an idempotent method.
    var idempotent: RetryRequest {
        RetryRequest(isIdempotent: true, bodyReplayable: bodyReplayable, bodyBytesSent: bodyBytesSent)
    }
}
