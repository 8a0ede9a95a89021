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

    /// Request or response.
    public let kind: Kind
    /// The head exactly as received, from the start line through the final CRLF CRLF.
    public let bytes: ByteBuffer
    /// The protocol version of the start line.
    public let version: HTTP1Version
    /// The field lines in order.
    public let fields: [HTTP1Field]

    /// Requests: the method. Responses: the method of the request answered, as given to the
    /// parser.
    public let methodKind: HTTPMethodKind
    /// Requests: the method token's bytes.
    public let methodRange: Range<Int>
    /// Requests: the request target's bytes.
    public let targetRange: Range<Int>
    /// Requests: the request target's form.
    public let targetForm: HTTP1TargetForm
    /// Requests in origin- or absolute-form: the path, up to `?` or the end of the target.
    /// Empty for an absolute-form target without a path (`http://host`).
    public let pathRange: Range<Int>
    /// Requests in origin- or absolute-form with a `?`: the query after it.
    public let queryRange: Range<Int>?
    /// Requests in absolute-form: the scheme, such as `http`.
    public let schemeRange: Range<Int>?
    /// Requests in absolute- or authority-form: the authority `host[:port]` of the target.
    public let authorityRange: Range<Int>?
    /// Requests: the value of the Host field, absent in an HTTP/1.0 request without one.
    public let hostRange: Range<Int>?

    /// Responses: the status code, 100–999.
    public let statusCode: Int
    /// Responses: the reason phrase's bytes (possibly empty).
    public let reasonRange: Range<Int>

    /// How the body that follows this head is delimited.
    public let bodyFraming: HTTP1BodyFraming
    /// Whether the connection stays open after this message: HTTP/1.1 unless Connection has
    /// `close`; HTTP/1.0 only with Connection `keep-alive` (and never after a body that ends at
    /// close).
    public let keepAlive: Bool
    /// Requests: an HTTP/1.1 request with `Expect: 100-continue`.
    public let expectsContinue: Bool
    /// Requests: an Upgrade field with an `upgrade` token in Connection. Responses: a 101, or a
    /// 2xx answer to CONNECT; after either the connection carries another protocol, so the
    /// caller stops framing HTTP/1 and relays bytes.
    public let isUpgrade: Bool

    /// The offset where the first field line starts: just after the start line's CRLF.
    let fieldsStart: Int
    /// Whether Connection names options other than `close`, `keep-alive` and `upgrade`, which
    /// makes the fields they name hop-by-hop too.
    let hasExtraConnectionOptions: Bool

    init(
        kind: Kind, bytes: ByteBuffer, version: HTTP1Version, fields: [HTTP1Field],
        methodKind: HTTPMethodKind, methodRange: Range<Int>, target: TargetParts,
        hostRange: Range<Int>?, statusCode: Int, reasonRange: Range<Int>,
        framing: FramingFacts, fieldsStart: Int
    ) {
        self.kind = kind
        self.bytes = bytes
        self.version = version
        self.fields = fields
        self.methodKind = methodKind
        self.methodRange = methodRange
        targetRange = target.range
        targetForm = target.form
        pathRange = target.path
        queryRange = target.query
        schemeRange = target.scheme
        authorityRange = target.authority
        self.hostRange = hostRange
        self.statusCode = statusCode
        self.reasonRange = reasonRange
        bodyFraming = framing.body
        keepAlive = framing.keepAlive
        expectsContinue = framing.expectsContinue
        isUpgrade = framing.isUpgrade
        hasExtraConnectionOptions = framing.hasExtraConnectionOptions
        self.fieldsStart = fieldsStart
    }

    /// Responses: a 1xx other than 101, after which the real response follows; forward it and
    /// parse the next head.
    public var isInterim: Bool {
        kind == .response && statusCode >= 100 && statusCode < 200 && statusCode != 101
    }
}

/// The parts of a request target, as ranges into the head.
struct TargetParts {
    var range: Range<Int>
    var form: HTTP1TargetForm
    var path: Range<Int>
    var query: Range<Int>?
    var scheme: Range<Int>?
    var authority: Range<Int>?

    /// The parts of a response, which has no target.
    static let none = TargetParts(range: 0..<0, form: .origin, path: 0..<0)
}

/// The framing facts derived from a head's fields.
struct FramingFacts {
    var body: HTTP1BodyFraming
    var keepAlive: Bool
    var expectsContinue: Bool
    var isUpgrade: Bool
    var hasExtraConnectionOptions: Bool
}
