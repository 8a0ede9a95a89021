/// Faults a route injects into a share of its requests, for testing how callers cope: a delay
/// before the request goes upstream, an error answered in place of the upstream's response, or
/// both (the delay, then the error). The two are drawn independently, as in Envoy.
public struct FaultInjector: Hashable, Sendable {
    /// Delay a share of requests.
    public struct Delay: Hashable, Sendable {
        /// The share of requests delayed, in percent, 0 ... 100.
        public let percent: Double
        public let duration: Duration
        /// `percent` in millionths (a percent is 10 000 of them).
        let partsPerMillion: UInt64

        /// `percent` is clamped to 0 ... 100 (NaN counts as 0) and kept to a ten-thousandth
        /// of a percent; a negative duration counts as zero.
        public init(percent: Double, duration: Duration) {
            partsPerMillion = FaultInjector.partsPerMillion(percent)
            self.percent = Double(partsPerMillion) / 10_000
            self.duration = max(duration, .zero)
        }
    }

    /// Answer a share of requests with an error instead of sending them upstream.
    public struct Abort: Hashable, Sendable {
        /// The share of requests aborted, in percent, 0 ... 100.
        public let percent: Double
        /// The HTTP status of the answer.
        public let status: Int
        /// For gRPC requests, the `grpc-status` of the answer (sent with HTTP 200, as gRPC
        /// requires); nil to answer gRPC requests with `status` too.
        public let grpcStatus: Int?
        /// `percent` in millionths.
        let partsPerMillion: UInt64

        /// `percent` is clamped and kept as for `Delay`.
        public init(percent: Double, status: Int, grpcStatus: Int? = nil) {
            partsPerMillion = FaultInjector.partsPerMillion(percent)
            self.percent = Double(partsPerMillion) / 10_000
            self.status = status
            self.grpcStatus = grpcStatus
        }
    }

    /// What to do to one request.
    public enum Decision: Hashable, Sendable {
        /// Nothing: send it as usual.
        case none
        /// Wait this long, then send it as usual.
        case delay(Duration)
        /// Answer at once with this error.
        case abort(Abort)
        /// Wait, then answer with the error.
        case delayThenAbort(Duration, Abort)
    }

    public var delay: Delay?
    public var abort: Abort?

    public init(delay: Delay? = nil, abort: Abort? = nil) {
        self.delay = delay
        self.abort = abort
    }

    /// Draws the faults for one request: at most two draws from `rng`, none for a fault that is
    /// absent, at 0 % or at 100 %.
    public func decide<R: RandomNumberGenerator>(using rng: inout R) -> Decision {
        let delayed = delay.flatMap { Self.draw($0.partsPerMillion, using: &rng) ? $0.duration : nil }
        let aborted = abort.flatMap { Self.draw($0.partsPerMillion, using: &rng) ? $0 : nil }
        switch (delayed, aborted) {
        case (nil, nil): return .none
        case let (duration?, nil): return .delay(duration)
        case let (nil, abort?): return .abort(abort)
        case let (duration?, abort?): return .delayThenAbort(duration, abort)
        }
    }

    /// True with probability `partsPerMillion / 1 000 000`.
    private static func draw<R: RandomNumberGenerator>(_ partsPerMillion: UInt64, using rng: inout R) -> Bool {
        switch partsPerMillion {
        case 0: false
        case 1_000_000...: true
        default: rng.uniform(below: 1_000_000) < partsPerMillion
        }
    }

    static func partsPerMillion(_ percent: Double) -> UInt64 {
        guard !percent.isNaN else { return 0 }
        return UInt64((min(max(percent, 0), 100) * 10_000).rounded())
    }
}
