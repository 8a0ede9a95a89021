import NIOCore

/// Finds, validates and frames HTTP/1.1 heads (RFC 9112) in the bytes of one direction of a
/// connection, without decoding them: the result records byte ranges into the head, and the
/// caller forwards the original bytes.
///
/// Call it with the connection's buffered bytes, starting at a message's first byte, each time
/// more arrive, until it returns `.head` or `.error`. It remembers how far it has searched for
/// the end of the head, so a head that trickles in one byte at a time costs linear work; the
/// buffer must keep its start and only grow between calls. After `.head` or `.error` the parser
/// is ready for the next message. Anything it cannot frame safely is an error, never a head.
/// Empty lines before a request line are skipped (RFC 9112 §2.2); before a status line they
/// are an error. A first byte that cannot start the start line (a TLS handshake, say) fails at
/// once rather than after the buffer fills.
///
/// `fields` is caller-owned storage: the parser empties it keeping its capacity and appends
/// the head's field lines (its contents are unspecified after an error).
public struct HTTP1HeadParser: Sendable {
    /// The bounds enforced on every head.
    public let limits: HTTP1Limits

    /// Where the head starts, after any empty lines skipped before a request line.
    private var headStart = 0
    /// Whether `headStart` is known: the first byte of the start line has been seen.
    private var foundStart = false
    /// Where the line being searched for its end starts.
    private var lineStart = 0
    /// How far the search for the end of the head has got.
    private var scanned = 0

    /// A parser that enforces `limits`.
    public init(limits: HTTP1Limits = HTTP1Limits()) {
        self.limits = limits
    }

    /// Parses a request head from the start of `buffer`'s readable bytes.
    public mutating func parseRequest(_ buffer: ByteBuffer, fields: inout [HTTP1Field]) -> HTTP1ParseResult {
        parse(buffer, role: .request, fields: &fields)
    }

    /// Parses a response head from the start of `buffer`'s readable bytes; `requestMethod` is
    /// the method of the request it answers, which decides whether a body follows.
    public mutating func parseResponse(
        _ buffer: ByteBuffer, requestMethod: HTTPMethodKind, fields: inout [HTTP1Field]
    ) -> HTTP1ParseResult {
        parse(buffer, role: .response(requestMethod: requestMethod), fields: &fields)
    }

    /// Parses a request head without remembering progress: each call rescans `buffer`.
    public static func parseRequest(
        _ buffer: ByteBuffer, limits: HTTP1Limits = HTTP1Limits(), fields: inout [HTTP1Field]
    ) -> HTTP1ParseResult {
        var parser = HTTP1HeadParser(limits: limits)
        return parser.parseRequest(buffer, fields: &fields)
    }

    /// Parses a response head without remembering progress: each call rescans `buffer`.
    public static func parseResponse(
        _ buffer: ByteBuffer, requestMethod: HTTPMethodKind, limits: HTTP1Limits = HTTP1Limits(),
        fields: inout [HTTP1Field]
    ) -> HTTP1ParseResult {
        var parser = HTTP1HeadParser(limits: limits)
        return parser.parseResponse(buffer, requestMethod: requestMethod, fields: &fields)
    }

    /// Forgets a partly received head, to parse a new message from another start.
    public mutating func reset() {
        self = HTTP1HeadParser(limits: limits)
    }

    private mutating func parse(_ buffer: ByteBuffer, role: HeadRole, fields: inout [HTTP1Field]) -> HTTP1ParseResult {
        let readable = buffer.readableBytes
        if max(scanned, headStart) > readable { reset() }
        let limit = min(readable, limits.maxHeadBytes)
        let outcome = buffer.withUnsafeReadableBytes { searchEnd(in: $0, limit: limit, role: role) }
        switch outcome {
        case .incomplete:
            guard readable >= limits.maxHeadBytes else { return .needMoreBytes }
            reset()
            return .error(.headTooLarge)
        case .failed(let error):
            reset()
            return .error(error)
        case .complete(let end):
            let start = headStart
            reset()
            // `start..<end` lies within the readable bytes, as the search found it there.
            let head = buffer.getSlice(at: buffer.readerIndex + start, length: end - start)!
            fields.removeAll(keepingCapacity: true)
            return HeadSyntax.parse(head, role: role, limits: limits, consumed: end, fields: &fields)
        }
    }

    private enum SearchOutcome {
        case incomplete
        case complete(end: Int)
        case failed(HTTP1ParseError)
    }

    /// Searches `bytes[..<limit]` for the empty line that ends the head, from where the last
    /// call stopped. Rejects an LF without CR on the way, and a first byte that cannot start
    /// the start line, so garbage fails fast instead of filling the buffer.
    private mutating func searchEnd(in bytes: UnsafeRawBufferPointer, limit: Int, role: HeadRole) -> SearchOutcome {
        if !foundStart {
            if case .request = role {
                // RFC 9112 §2.2: a server should ignore empty lines before a request line;
                // they count toward `maxHeadBytes`.
                while headStart < limit, bytes[headStart] == ASCII.carriageReturn || bytes[headStart] == ASCII.lineFeed {
                    guard bytes[headStart] == ASCII.carriageReturn else { return .failed(.bareLineFeed) }
                    guard headStart + 1 < limit else { return .incomplete }
                    guard bytes[headStart + 1] == ASCII.lineFeed else { return .failed(.bareCarriageReturn) }
                    headStart += 2
                }
            }
            guard headStart < limit else { return .incomplete }
            switch role {
            case .request:
                guard ASCII.isTokenChar(bytes[headStart]) else { return .failed(.invalidRequestLine) }
            case .response:
                guard bytes[headStart] == UInt8(ascii: "H") else { return .failed(.invalidStatusLine) }
            }
            foundStart = true
            lineStart = headStart
            scanned = headStart
        }
        var position = scanned
        while let lineFeed = ASCII.firstLineFeed(in: bytes, from: position, to: limit) {
            guard bytes[lineFeed - 1] == ASCII.carriageReturn else { return .failed(.bareLineFeed) }
            if lineFeed - 1 == lineStart { return .complete(end: lineFeed + 1) }
            lineStart = lineFeed + 1
            position = lineFeed + 1
        }
        scanned = limit
        return .incomplete
    }
}
