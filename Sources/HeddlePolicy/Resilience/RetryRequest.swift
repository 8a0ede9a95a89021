/// What `RetryPolicy` needs to know of the request whose attempt failed: whether sending it
/// twice is harmless, and whether its body can be sent again.
public struct RetryRequest: Hashable, Sendable {
    /// The method is idempotent (RFC 9110 §9.2.2): repeating it has the effect of sending it once.
    public var isIdempotent: Bool
    /// The whole body is at hand to send again: there is none, or it was buffered completely
    /// within the proxy's retry buffer limit.
    public var bodyReplayable: Bool
    /// Some body bytes went upstream on the failed attempt (and, unless `bodyReplayable`, are
    /// gone).
    public var bodyBytesSent: Bool

    public init(isIdempotent: Bool, bodyReplayable: Bool, bodyBytesSent: Bool) {
        self.isIdempotent = isIdempotent
        self.bodyReplayable = bodyReplayable
        self.bodyBytesSent = bodyBytesSent
    }

    /// A request with `method`, idempotent as `isIdempotent(method:)` says.
    public init(method: Substring, bodyReplayable: Bool, bodyBytesSent: Bool) {
        self.init(isIdempotent: Self.isIdempotent(method: method), bodyReplayable: bodyReplayable, bodyBytesSent: bodyBytesSent)
    }

    /// The body can go to a new attempt: it is replayable, or none of it was sent, so the proxy
    /// still holds every byte it has read.
    public var bodyCanBeResent: Bool {
        bodyReplayable || !bodyBytesSent
    }

    /// Whether `method` is idempotent by RFC 9110 §9.2.2: GET, HEAD, OPTIONS, TRACE, PUT and
    /// DELETE. Methods are case-sensitive, so `get` is not GET; unknown methods are not
    /// idempotent.
    public static func isIdempotent(method: Substring) -> Bool {
        switch method {
        case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE": true
        default: false
        }
    }

    /// `isIdempotent(method:)` for a `String`.
    public static func isIdempotent(method: String) -> Bool {
        isIdempotent(method: method[...])
    }
}
