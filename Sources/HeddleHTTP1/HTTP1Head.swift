import NIOCore

/// A parsed HTTP/1.1 request or response head: its exact bytes, byte ranges of the parts
/// routing needs, and the framing facts derived from its fields.
///
/// Ranges are offsets into `bytes`, whose reader index is 0. Properties marked "requests"
/// hold an empty range or `.origin` in a response; those marked "responses" hold 0 or an empty
/// range in a request. `fields` shares storage with the array passed to the parser: drop the
/// head before the next parse to reuse that array's capacity without allocating.
public struct HTTP1Head: Sendable {
    /// Whether a head is a request's or a response's.
    public enum Kind: Sendable, Hashable {
        case request
        case response
    }

    /// The head exactly as received, from the start line through the final CRLF CRLF.
    public let bytes: ByteBuffer
    /// The field lines in order.
    public let fields: [HTTP1Field]
    /// Everything else the parse found, in a compact form that is cheap to copy.
    let facts: HeadFacts

    init(bytes: ByteBuffer, fields: [HTTP1Field], facts: HeadFacts) {
        self.bytes = bytes
        self.fields = fields
        self.facts = facts
    }

    /// Request or response.
    public var kind: Kind { facts.kind }
    /// The protocol version of the start line.
    public var version: HTTP1Version { facts.version }

    /// Requests: the method. Responses: the method of the request answered, as given to the
    /// parser.
    public var methodKind: HTTPMethodKind { facts.methodKind }
    /// Requests: the method token's bytes.
    public var methodRange: Range<Int> { facts.method.range }
    /// Requests: the request target's bytes.
    public var targetRange: Range<Int> { facts.target.range }
    /// Requests: the request target's form.
    public var targetForm: HTTP1TargetForm { facts.targetForm }
    /// Requests in origin- or absolute-form: the path, up to `?` or the end of the target.
    /// Empty for an absolute-form target without a path (`http://host`).
    public var pathRange: Range<Int> { facts.path.range }
    /// Requests in origin- or absolute-form with a `?`: the query after it.
    public var queryRange: Range<Int>? { facts.query?.range }
    /// Requests in absolute-form: the scheme, such as `http`.
    public var schemeRange: Range<Int>? { facts.scheme?.range }
    /// Requests in absolute- or authority-form: the authority `host[:port]` of the target.
    public var authorityRange: Range<Int>? { facts.authority?.range }
    /// Requests: the value of the Host field, absent in an HTTP/1.0 request without one.
    public var hostRange: Range<Int>? { facts.host?.range }

    /// Responses: the status code, 100–999.
    public var statusCode: Int { Int(facts.statusCode) }
    /// Responses: the reason phrase's bytes (possibly empty).
    public var reasonRange: Range<Int> { facts.reason.range }

    /// How the body that follows this head is delimited.
    public var bodyFraming: HTTP1BodyFraming { facts.bodyFraming }
    /// Whether the connection stays open after this message: HTTP/1.1 unless Connection has
    /// `close`; HTTP/1.0 only with Connection `keep-alive` (and never after a body that ends at
    /// close).
    public var keepAlive: Bool { facts.keepAlive }
    /// Requests: an HTTP/1.1 request with `Expect: 100-continue`.
    public var expectsContinue: Bool { facts.expectsContinue }
    /// Requests: an Upgrade field with an `upgrade` token in Connection. Responses: a 101, or a
    /// 2xx answer to CONNECT; after either the connection carries another protocol, so the
    /// caller stops framing HTTP/1 and relays bytes.
    public var isUpgrade: Bool { facts.isUpgrade }

    /// Responses: a 1xx other than 101, after which the real response follows; forward it and
    /// parse the next head.
    public var isInterim: Bool {
        kind == .response && facts.statusCode < 200 && facts.statusCode != 101
    }
}

/// A range of a head's bytes in 32 bits per offset, which `HTTP1Limits.maxHeadBytes`
/// guarantees are enough.
struct Span: Sendable {
    var start: UInt32
    var end: UInt32

    init(_ range: Range<Int>) {
        start = UInt32(truncatingIfNeeded: range.lowerBound)
        end = UInt32(truncatingIfNeeded: range.upperBound)
    }

    var range: Range<Int> { Int(start)..<Int(end) }

    static let empty = Span(0..<0)
}

/// What parsing a head found besides its bytes and fields.
struct HeadFacts: Sendable {
    var kind: HTTP1Head.Kind
    var version = HTTP1Version.http1_1
    var methodKind = HTTPMethodKind.other
    var method = Span.empty
    var target = Span.empty
    var targetForm = HTTP1TargetForm.origin
    var path = Span.empty
    var query: Span?
    var scheme: Span?
    var authority: Span?
    var host: Span?
    var statusCode: UInt16 = 0
    var reason = Span.empty
    var bodyFraming = HTTP1BodyFraming.none
    var keepAlive = false
    var expectsContinue = false
    var isUpgrade = false
    /// Whether Connection names options other than `close`, `keep-alive` and `upgrade`, which
    /// makes the fields they name hop-by-hop too.
    var hasExtraConnectionOptions = false
    /// The offset where the first field line starts: just after the start line's CRLF.
    var fieldsStart: UInt32 = 0
}
