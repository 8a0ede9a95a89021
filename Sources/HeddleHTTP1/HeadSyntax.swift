import NIOCore

/// Which start line a head has, and for a response the method of the request it answers.
enum HeadRole {
    case request
    case response(requestMethod: HTTPMethodKind)
}

/// The syntax and framing rules of one complete head (RFC 9112 §2–§7, RFC 9110 §5–§7).
///
/// The head search guarantees that the bytes end with CRLF CRLF at the first empty line and
/// that every LF follows a CR, so each loop here stops at a CR before the end without bounds
/// checks.
struct HeadSyntax {
    /// The largest body length accepted, in Content-Length or a chunk size.
    static let maxBodyLength: UInt64 = 1 << 62

    private let bytes: UnsafeRawBufferPointer
    private var index = 0
    private var facts: HeadFacts

    private var contentLength: UInt64?
    private var transferCodings = TransferCodings()
    private var hostCount = 0
    private var connectionClose = false
    private var connectionKeepAlive = false
    private var connectionUpgrade = false
    private var expectsContinue = false
    private var hasUpgradeField = false

    private init(bytes: UnsafeRawBufferPointer, kind: HTTP1Head.Kind) {
        self.bytes = bytes
        facts = HeadFacts(kind: kind)
    }

    /// Parses `head`, the bytes of one complete head that took `consumed` bytes of input,
    /// appending its field lines to `fields`.
    static func parse(
        _ head: ByteBuffer, role: HeadRole, limits: HTTP1Limits, consumed: Int, fields: inout [HTTP1Field]
    ) -> HTTP1ParseResult {
        let parsed = head.withUnsafeReadableBytes { bytes in
            Result { () throws(HTTP1ParseError) -> HeadFacts in
                switch role {
                case .request:
                    var syntax = HeadSyntax(bytes: bytes, kind: .request)
                    try syntax.parseRequest(limits: limits, fields: &fields)
                    return syntax.facts
                case .response(let requestMethod):
                    var syntax = HeadSyntax(bytes: bytes, kind: .response)
                    try syntax.parseResponse(requestMethod: requestMethod, limits: limits, fields: &fields)
                    return syntax.facts
                }
            }
        }
        switch parsed {
        case .success(let facts): return .head(HTTP1Head(bytes: head, fields: fields, facts: facts), consumed: consumed)
        case .failure(let error): return .error(error)
        }
    }

    // MARK: - Requests

    private mutating func parseRequest(limits: HTTP1Limits, fields: inout [HTTP1Field]) throws(HTTP1ParseError) {
        while ASCII.isTokenChar(bytes[index]) { index += 1 }
        let method = 0..<index
        guard !method.isEmpty, bytes[index] == ASCII.space else { throw lineError(.invalidRequestLine) }
        index += 1
        let targetStart = index
        index = ASCII.endOfTarget(bytes, from: index)
        let target = targetStart..<index
        guard bytes[index] == ASCII.space || bytes[index] == ASCII.carriageReturn else { throw .invalidTarget }
        guard !target.isEmpty, bytes[index] == ASCII.space else { throw lineError(.invalidRequestLine) }
        index += 1
        let (major, minor) = try parseVersion(else: .invalidRequestLine)
        guard bytes[index] == ASCII.carriageReturn else { throw .invalidRequestLine }
        try expectLineEnd()
        switch (major, minor) {
        case (1, 0): facts.version = .http1_0
        case (1, 1): facts.version = .http1_1
        case (2, 0) where isHTTP2Preface(method: method, target: target): throw .http2Preface
        default: throw .unsupportedVersion
        }
        facts.methodKind = HTTPMethodKind(bytes, method)
        facts.method = Span(method)
        try parseTarget(target)
        facts.fieldsStart = UInt32(truncatingIfNeeded: index)
        try parseFields(limits: limits, fields: &fields)

        guard hostCount <= 1 else { throw .multipleHost }
        guard hostCount == 1 || facts.version == .http1_0 else { throw .missingHost }
        if let host = facts.host, !ASCII.isValidAuthority(bytes, host.range, requirePort: false, allowEmpty: true) {
            throw .invalidHost
        }
        if transferCodings.isPresent {
            try checkTransferEncodingAllowed()
            guard transferCodings.isSingleChunked else { throw .unsupportedTransferEncoding }
            facts.bodyFraming = .chunked
        } else if let contentLength {
            facts.bodyFraming = .contentLength(contentLength)
        }
        let isHTTP11 = facts.version == .http1_1
        facts.keepAlive = keepAlive()
        facts.expectsContinue = expectsContinue && isHTTP11
        facts.isUpgrade = hasUpgradeField && connectionUpgrade && isHTTP11
    }

    /// Whether the request line is `PRI * HTTP/2.0`, the start of the HTTP/2 connection preface
    /// (RFC 9113 §3.4).
    private func isHTTP2Preface(method: Range<Int>, target: Range<Int>) -> Bool {
        method.count == 3 && bytes[0] == UInt8(ascii: "P") && bytes[1] == UInt8(ascii: "R")
            && bytes[2] == UInt8(ascii: "I") && target.count == 1 && bytes[target.lowerBound] == ASCII.asterisk
    }

    /// Records the parts of the target in `range` (RFC 9112 §3.2), checked against the method.
    private mutating func parseTarget(_ range: Range<Int>) throws(HTTP1ParseError) {
        facts.target = Span(range)
        let end = range.upperBound
        if facts.methodKind == .connect {
            guard ASCII.isValidAuthority(bytes, range, requirePort: true, allowEmpty: false) else { throw .invalidTarget }
            facts.targetForm = .authority
            facts.path = Span(end..<end)
            facts.authority = Span(range)
            return
        }
        let first = bytes[range.lowerBound]
        if first == ASCII.slash {
            facts.targetForm = .origin
            splitQuery(range)
            return
        }
        if first == ASCII.asterisk, range.count == 1 {
            guard facts.methodKind == .options else { throw .invalidTarget }
            facts.targetForm = .asterisk
            facts.path = Span(end..<end)
            return
        }
        guard ASCII.isAlpha(first) else { throw .invalidTarget }
        var index = range.lowerBound + 1
        while index < end, isSchemeChar(bytes[index]) { index += 1 }
        let scheme = range.lowerBound..<index
        guard end - index > 3, bytes[index] == ASCII.colon, bytes[index + 1] == ASCII.slash,
              bytes[index + 2] == ASCII.slash
        else { throw .invalidTarget }
        index += 3
        let authorityStart = index
        while index < end, bytes[index] != ASCII.slash, bytes[index] != ASCII.questionMark { index += 1 }
        let authority = authorityStart..<index
        guard ASCII.isValidAuthority(bytes, authority, requirePort: false, allowEmpty: false) else { throw .invalidTarget }
        facts.targetForm = .absolute
        facts.scheme = Span(scheme)
        facts.authority = Span(authority)
        splitQuery(index..<end)
    }

    private func isSchemeChar(_ byte: UInt8) -> Bool {
        ASCII.isAlpha(byte) || ASCII.isDigit(byte) || byte == 0x2B || byte == 0x2D || byte == ASCII.period
    }

    /// Records `range` split at its first `?` as the path and query.
    private mutating func splitQuery(_ range: Range<Int>) {
        var index = range.lowerBound
        while index < range.upperBound, bytes[index] != ASCII.questionMark { index += 1 }
        facts.path = Span(range.lowerBound..<index)
        if index < range.upperBound {
            facts.query = Span((index + 1)..<range.upperBound)
        }
    }

    // MARK: - Responses

    private mutating func parseResponse(
        requestMethod: HTTPMethodKind, limits: HTTP1Limits, fields: inout [HTTP1Field]
    ) throws(HTTP1ParseError) {
        let (major, minor) = try parseVersion(else: .invalidStatusLine)
        guard bytes[index] == ASCII.space else { throw lineError(.invalidStatusLine) }
        index += 1
        var statusCode: UInt16 = 0
        for _ in 0..<3 {
            guard ASCII.isDigit(bytes[index]) else { throw lineError(.invalidStatusLine) }
            statusCode = statusCode * 10 + UInt16(bytes[index] &- 0x30)
            index += 1
        }
        guard statusCode >= 100 else { throw .invalidStatusLine }
        var reason = index..<index
        if bytes[index] == ASCII.space {
            index += 1
            let reasonStart = index
            index = ASCII.endOfFieldValue(bytes, from: index)
            reason = reasonStart..<index
        }
        guard bytes[index] == ASCII.carriageReturn else { throw .invalidStatusLine }
        try expectLineEnd()
        switch (major, minor) {
        case (1, 0): facts.version = .http1_0
        case (1, 1): facts.version = .http1_1
        default: throw .unsupportedVersion
        }
        facts.methodKind = requestMethod
        facts.statusCode = statusCode
        facts.reason = Span(reason)
        facts.fieldsStart = UInt32(truncatingIfNeeded: index)
        try parseFields(limits: limits, fields: &fields)

        if transferCodings.isPresent {
            try checkTransferEncodingAllowed()
            guard transferCodings.isChunkedLastIfPresent else { throw .unsupportedTransferEncoding }
        }
        let isSuccessfulConnect = requestMethod == .connect && statusCode >= 200 && statusCode < 300
        if requestMethod == .head || statusCode < 200 || statusCode == 204 || statusCode == 304 || isSuccessfulConnect {
            facts.bodyFraming = .none
        } else if transferCodings.isPresent {
            facts.bodyFraming = transferCodings.chunkedCount == 1 ? .chunked : .untilClose
        } else if let contentLength {
            facts.bodyFraming = .contentLength(contentLength)
        } else {
            facts.bodyFraming = .untilClose
        }
        facts.keepAlive = facts.bodyFraming != .untilClose && keepAlive()
        facts.isUpgrade = statusCode == 101 || isSuccessfulConnect
    }

    // MARK: - Shared rules

    /// Parses `HTTP/` DIGIT `.` DIGIT, throwing `error` for anything else.
    private mutating func parseVersion(else error: HTTP1ParseError) throws(HTTP1ParseError) -> (UInt8, UInt8) {
        for expected in "HTTP/".utf8 {
            guard bytes[index] == expected else { throw lineError(error) }
            index += 1
        }
        let major = bytes[index]
        guard ASCII.isDigit(major) else { throw lineError(error) }
        guard bytes[index + 1] == ASCII.period else { throw lineError(error, at: index + 1) }
        let minor = bytes[index + 2]
        guard ASCII.isDigit(minor) else { throw lineError(error, at: index + 2) }
        index += 3
        return (major &- 0x30, minor &- 0x30)
    }

    /// `error`, or `.bareCarriageReturn` when the offending byte is a CR without its LF.
    private func lineError(_ error: HTTP1ParseError, at position: Int? = nil) -> HTTP1ParseError {
        let position = position ?? index
        guard bytes[position] == ASCII.carriageReturn, bytes[position + 1] != ASCII.lineFeed else { return error }
        return .bareCarriageReturn
    }

    /// Steps over the CRLF at `index`.
    private mutating func expectLineEnd() throws(HTTP1ParseError) {
        guard bytes[index + 1] == ASCII.lineFeed else { throw .bareCarriageReturn }
        index += 2
    }

    /// Parses field lines up to the empty line that ends the head (RFC 9112 §5, RFC 9110 §5.5).
    private mutating func parseFields(limits: HTTP1Limits, fields: inout [HTTP1Field]) throws(HTTP1ParseError) {
        var position = index
        while bytes[position] != ASCII.carriageReturn {
            guard !ASCII.isWhitespace(bytes[position]) else { throw .obsoleteLineFolding }
            let nameStart = position
            while ASCII.isTokenChar(bytes[position]) { position += 1 }
            let name = nameStart..<position
            guard bytes[position] == ASCII.colon else { throw nameError(at: position) }
            guard !name.isEmpty else { throw .invalidHeaderName }
            position += 1
            while ASCII.isWhitespace(bytes[position]) { position += 1 }
            let valueStart = position
            position = ASCII.endOfFieldValue(bytes, from: position)
            guard bytes[position] == ASCII.carriageReturn else { throw .invalidHeaderValue }
            guard bytes[position + 1] == ASCII.lineFeed else { throw .bareCarriageReturn }
            var valueEnd = position
            while valueEnd > valueStart, ASCII.isWhitespace(bytes[valueEnd - 1]) { valueEnd -= 1 }
            position += 2
            guard fields.count < limits.maxHeaderCount else { throw .tooManyHeaders }
            let value = valueStart..<valueEnd
            fields.append(HTTP1Field(name: name, value: value))
            try noteField(name: name, value: value)
        }
        index = position
        try expectLineEnd()
    }

    /// The error for a field name that stops at `position`, on something other than a colon.
    private func nameError(at position: Int) -> HTTP1ParseError {
        switch bytes[position] {
        case ASCII.space, ASCII.horizontalTab:
            var next = position
            while ASCII.isWhitespace(bytes[next]) { next += 1 }
            return bytes[next] == ASCII.colon ? .whitespaceBeforeColon : .invalidHeaderName
        case ASCII.carriageReturn:
            return lineError(.headerWithoutColon, at: position)
        default:
            return .invalidHeaderName
        }
    }

    /// Records what a field that framing, routing or connection handling depends on says.
    private mutating func noteField(name: Range<Int>, value: Range<Int>) throws(HTTP1ParseError) {
        switch name.count {
        case 4 where facts.kind == .request && ASCII.equalsLowercase(bytes, name, "host"):
            hostCount += 1
            facts.host = Span(value)
        case 6 where ASCII.equalsLowercase(bytes, name, "expect"):
            if ASCII.equalsLowercase(bytes, value, "100-continue") { expectsContinue = true }
        case 7 where ASCII.equalsLowercase(bytes, name, "upgrade"):
            hasUpgradeField = true
        case 10 where ASCII.equalsLowercase(bytes, name, "connection"):
            noteConnectionOptions(value)
        case 14 where ASCII.equalsLowercase(bytes, name, "content-length"):
            try noteContentLength(value)
        case 17 where ASCII.equalsLowercase(bytes, name, "transfer-encoding"):
            transferCodings.note(bytes, value)
        default:
            break
        }
    }

    /// Content-Length = 1*DIGIT (RFC 9110 §8.6), at most 2^62. Repeated fields must agree;
    /// a comma-separated list, which RFC 9110 lets a recipient accept, is rejected so that no
    /// upstream can read it differently.
    private mutating func noteContentLength(_ value: Range<Int>) throws(HTTP1ParseError) {
        guard !value.isEmpty else { throw .invalidContentLength }
        var length: UInt64 = 0
        for position in value {
            let byte = bytes[position]
            guard ASCII.isDigit(byte) else { throw .invalidContentLength }
            let digit = UInt64(byte &- 0x30)
            guard length <= (Self.maxBodyLength - digit) / 10 else { throw .invalidContentLength }
            length = length * 10 + digit
        }
        if let contentLength, contentLength != length { throw .conflictingContentLength }
        contentLength = length
    }

    private mutating func noteConnectionOptions(_ value: Range<Int>) {
        ASCII.forEachListElement(bytes, value) { option in
            if ASCII.equalsLowercase(bytes, option, "close") {
                connectionClose = true
            } else if ASCII.equalsLowercase(bytes, option, "keep-alive") {
                connectionKeepAlive = true
            } else if ASCII.equalsLowercase(bytes, option, "upgrade") {
                connectionUpgrade = true
            } else if !option.isEmpty {
                facts.hasExtraConnectionOptions = true
            }
            return true
        }
    }

    /// Transfer-Encoding is not allowed in HTTP/1.0 (RFC 9112 §6.1) nor with Content-Length
    /// (RFC 9112 §6.3: rejected here for responses too, since the bytes are forwarded as
    /// received and an upstream or client might honour the Content-Length).
    private func checkTransferEncodingAllowed() throws(HTTP1ParseError) {
        guard facts.version == .http1_1 else { throw .transferEncodingInHTTP10 }
        guard contentLength == nil else { throw .contentLengthWithTransferEncoding }
    }

    private func keepAlive() -> Bool {
        switch facts.version {
        case .http1_1: !connectionClose
        case .http1_0: connectionKeepAlive && !connectionClose
        }
    }
}

/// The transfer codings listed by a head's Transfer-Encoding fields.
private struct TransferCodings {
    var isPresent = false
    var count = 0
    var chunkedCount = 0
    var lastIsChunked = false
    var isMalformed = false

    /// A request accepts exactly one coding, `chunked`: anything else is what smuggling
    /// attacks are made of (RFC 9112 §6.1 lets a server answer 501).
    var isSingleChunked: Bool {
        !isMalformed && count == 1 && chunkedCount == 1
    }

    /// A response may list other codings (its body then ends at close, RFC 9112 §6.3), but
    /// `chunked` at most once and last.
    var isChunkedLastIfPresent: Bool {
        !isMalformed && chunkedCount <= 1 && (chunkedCount == 0 || lastIsChunked)
    }

    /// Adds the codings of one field value; an empty element or one with parameters makes the
    /// list malformed.
    mutating func note(_ bytes: UnsafeRawBufferPointer, _ value: Range<Int>) {
        isPresent = true
        ASCII.forEachListElement(bytes, value) { coding in
            count += 1
            if ASCII.equalsLowercase(bytes, coding, "chunked") {
                chunkedCount += 1
                lastIsChunked = true
            } else if !coding.isEmpty, coding.allSatisfy({ ASCII.isTokenChar(bytes[$0]) }) {
                lastIsChunked = false
            } else {
                isMalformed = true
            }
            return true
        }
    }
}
