import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Keeps refusal logs readable under a scan or a flood: at most `perSecond` lines a second are
/// written; the rest are counted, and the next line written says how many were left out.
/// Every refusal is still counted in the metrics. Shared by the loops (a lock taken only when
/// refusing a connection, never on the request path).
final class RefusalLogLimiter: Sendable {
    private struct Window {
        var second: UInt64 = 0
        var written = 0
        var suppressed = 0
    }

    private let perSecond: Int
    private let window = NIOLockedValueBox(Window())

    init(perSecond: Int = 10) {
        self.perSecond = perSecond
    }

    /// Logs `message` unless this second's budget is spent; `now` in nanoseconds.
    func log(_ logger: Logger, _ level: Logger.Level, _ message: Logger.Message, metadata: Logger.Metadata, now: UInt64 = NIODeadline.now().uptimeNanoseconds) {
        let second = now / 1_000_000_000
        let left: Int? = window.withLockedValue { window in
            if window.second != second {
                window.second = second
                window.written = 0
            }
            guard window.written < perSecond else {
                window.suppressed += 1
                return nil
            }
            window.written += 1
            defer { window.suppressed = 0 }
            return window.suppressed
        }
        guard let left else { return }
        var metadata = metadata
        if left > 0 { metadata["not_logged_before"] = "\(left)" }
        logger.log(level: level, message, metadata: metadata)
    }

    /// The proxy's one limiter for TLS refusals.
    static let shared = RefusalLogLimiter()
}
