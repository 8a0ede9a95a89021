/// The form of a request target (RFC 9112 §3.2).
public enum HTTP1TargetForm: Sendable, Hashable {
    /// `/path?query`: the usual form, sent to an origin server.
    case origin
    /// `http://host:port/path?query`: sent to a proxy, as by an app that uses Heddle as its
    /// `http_proxy`.
    case absolute
    /// `host:port`: the target of CONNECT, and only of CONNECT.
    case authority
    /// `*`: the target of a server-wide OPTIONS, and only of OPTIONS.
    case asterisk
}
