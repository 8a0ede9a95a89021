/// The request methods the proxy treats specially, recognised case-sensitively (RFC 9110 §9.1).
public enum HTTPMethodKind: Sendable, Hashable {
    case get
    case head
    case post
    case put
    case delete
    case connect
    case options
    case trace
    case patch
    /// Any other method token; `HTTP1Head.methodRange` holds its bytes.
    case other

    /// The kind of the method token in `bytes[range]`.
    init(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) {
        func matches(_ name: StaticString) -> Bool {
            name.withUTF8Buffer { name in
                var index = range.lowerBound
                for byte in name {
                    guard bytes[index] == byte else { return false }
                    index += 1
                }
                return true
            }
        }
        switch range.count {
        case 3:
            self = matches("GET") ? .get : matches("PUT") ? .put : .other
        case 4:
            self = matches("HEAD") ? .head : matches("POST") ? .post : .other
        case 5:
            self = matches("PATCH") ? .patch : matches("TRACE") ? .trace : .other
        case 6:
            self = matches("DELETE") ? .delete : .other
        case 7:
            self = matches("OPTIONS") ? .options : matches("CONNECT") ? .connect : .other
        default:
            self = .other
        }
    }
}

extension HTTPMethodKind {
    /// Whether the method is idempotent (RFC 9110 §9.2.2): sending it twice has the effect of
    /// sending it once, so a retry is safe.
    public var isIdempotent: Bool {
        switch self {
        case .get, .head, .options, .trace, .put, .delete: true
        case .post, .connect, .patch, .other: false
        }
    }
}
