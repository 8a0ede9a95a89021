import NIOCore
import Testing

@testable import HeddleHTTP1

/// A buffer holding the UTF-8 of `text`.
func buffer(_ text: String) -> ByteBuffer {
    ByteBuffer(string: text)
}

/// A buffer holding `bytes`.
func buffer(_ bytes: [UInt8]) -> ByteBuffer {
    ByteBuffer(bytes: bytes)
}

/// Parses `text` as a request head in one call.
func parseRequest(_ text: String, limits: HTTP1Limits = HTTP1Limits()) -> HTTP1ParseResult {
    var fields: [HTTP1Field] = []
    return HTTP1HeadParser.parseRequest(buffer(text), limits: limits, fields: &fields)
}

/// Parses `text` as a response head in one call.
func parseResponse(
    _ text: String, requestMethod: HTTPMethodKind = .get, limits: HTTP1Limits = HTTP1Limits()
) -> HTTP1ParseResult {
    var fields: [HTTP1Field] = []
    return HTTP1HeadParser.parseResponse(buffer(text), requestMethod: requestMethod, limits: limits, fields: &fields)
}

/// The request head of `text`, failing the test if it does not parse.
func requestHead(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> HTTP1Head {
    try #require(parseRequest(text).head, "\(parseRequest(text))", sourceLocation: sourceLocation)
}

/// The response head of `text`, failing the test if it does not parse.
func responseHead(
    _ text: String, requestMethod: HTTPMethodKind = .get, sourceLocation: SourceLocation = #_sourceLocation
) throws -> HTTP1Head {
    let result = parseResponse(text, requestMethod: requestMethod)
    return try #require(result.head, "\(result)", sourceLocation: sourceLocation)
}

extension HTTP1ParseResult {
    var head: HTTP1Head? {
        if case .head(let head, _) = self { return head }
        return nil
    }

    var consumed: Int? {
        if case .head(_, let consumed) = self { return consumed }
        return nil
    }

    var error: HTTP1ParseError? {
        if case .error(let error) = self { return error }
        return nil
    }

    var needsMoreBytes: Bool {
        if case .needMoreBytes = self { return true }
        return false
    }

    /// A comparable summary: the outcome, the head's bytes and every fact derived from them.
    var summary: String {
        switch self {
        case .needMoreBytes: "needMoreBytes"
        case .error(let error): "error(\(error.identifier))"
        case .head(let head, let consumed): "head(consumed: \(consumed), \(head.summary))"
        }
    }
}

extension HTTP1Head {
    /// Every fact of the head, for comparing two parses.
    var summary: String {
        let fieldList = fields.map { "\(string($0.name))=\(string($0.value))" }.joined(separator: "|")
        return """
            \(kind) \(version) bytes=\(Array(bytes.readableBytesView)) method=\(methodKind)\(methodRange) \
            target=\(targetForm)\(targetRange) path=\(pathRange) query=\(String(describing: queryRange)) \
            scheme=\(String(describing: schemeRange)) authority=\(String(describing: authorityRange)) \
            host=\(String(describing: hostRange)) status=\(statusCode) reason=\(reasonRange) \
            framing=\(bodyFraming) keepAlive=\(keepAlive) continue=\(expectsContinue) \
            upgrade=\(isUpgrade) fields=\(fieldList)
            """
    }

    /// The names of the fields, as received.
    var fieldNames: [String] {
        fields.map { string($0.name) }
    }
}

extension HTTP1BodyStep {
    var consumed: Int? {
        switch self {
        case .inProgress(let consumed), .finished(let consumed): consumed
        case .error: nil
        }
    }
}

/// A deterministic pseudo-random generator (SplitMix64), so randomized tests repeat exactly.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}

/// Valid requests used by the split and mutation tests.
let validRequests = [
    "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
    "GET /a/b?c=d&e HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: test/1.0\r\nAccept: */*\r\n\r\n",
    "\r\n\r\nGET / HTTP/1.0\r\n\r\n",
    "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello",
    "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "GET http://example.com:81/p?q=1 HTTP/1.1\r\nHost: example.com:81\r\nProxy-Connection: keep-alive\r\n\r\n",
    "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade, X-Custom\r\nX-Custom: 1\r\nX:\r\nY: \t spaced \t value \t\r\n\r\n",
]

/// Valid responses (with the method of the request they answer) used by the split and
/// mutation tests.
let validResponses: [(String, HTTPMethodKind)] = [
    ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", .get),
    ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", .get),
    ("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", .get),
    ("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", .post),
    ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", .get),
    ("HTTP/1.1 304\r\nETag: \"x\"\r\n\r\n", .get),
    ("HTTP/1.1 200 Connection established\r\n\r\n", .connect),
    ("HTTP/1.1 500 Internal Server Error\r\nServer: x\r\n\r\nclose-delimited", .head),
]
