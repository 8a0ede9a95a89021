/// Why a connection's reads are paused. Reading resumes only once no reason is left, so one
/// cause (a slow upstream) never undoes another (a connect still in progress).
struct ReadGate {
    struct Reason: OptionSet {
        let rawValue: UInt8
        /// The upstream connection or stream is being opened.
        static let connecting = Reason(rawValue: 1)
        /// The other side cannot take more bytes.
        static let upstreamBackpressure = Reason(rawValue: 2)
        /// Pipelined requests fill the buffer while an exchange is in progress.
        static let pipelineFull = Reason(rawValue: 4)
    }

    private var reasons: Reason = []

    /// Adds `reason`; true when reads were flowing and must stop now.
    mutating func pause(_ reason: Reason) -> Bool {
        let wasOpen = reasons.isEmpty
        reasons.insert(reason)
        return wasOpen
    }

    /// Removes `reason`; true when it was the last one and reads must resume now.
    mutating func resume(_ reason: Reason) -> Bool {
        guard reasons.contains(reason) else { return false }
        reasons.remove(reason)
        return reasons.isEmpty
    }

    /// Forgets every reason (the connection is closing).
    mutating func clear() {
        reasons = []
    }
}
