import NIOCore

/// Which start line a head has, and for a response the method of the request it answers.
enum HeadRole {
    case request
    case response(requestMethod: HTTPMethodKind)
}

/// The syntax and framing rules of one complete head (RFC 9112 §2–§7, RFC 9110 §5–§7).
///
/// The head scan guarantees that the bytes end with CRLF CRLF at the first empty line and that
/// every LF follows a CR, so each loop here stops at a CR before the end without bounds checks.
struct HeadSyntax {
    /// The largest body length accepted, in Content-Length or a chunk size.
    static let maxBodyLength: UInt64 = 1 << 62

    private let bytes: UnsafeRawBufferPointer
    private var index = 0

    private var contentLength: UInt64?
    private var transferCodings = TransferCodings()
    private var hostCount = 0
    private var hostRange: Range<Int>?
    private var connectionClose = false
    private var connectionKeepAlive = false
    private var connectionUpgrade = false
    private var extraConnectionOptions = false
    private var expectsContinue = false
    private var hasUpgradeField = false

    private init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// Parses `head`, the bytes of one complete head, appending its field lines to `fields`.
    static func parse(
        _ head: ByteBuffer, role: HeadRole, limits: HTTP1Limits, fields: inout [HTTP1Field]
    ) -> Result<HTTP1Head, HTTP1ParseError> {
        head.withUnsafeReadableBytes { bytes in
            Result { () throws(HTTP1ParseError) -> HTTP1Head in
                var syntax = HeadSyntax(bytes: bytes)
                switch role {
                case .request:
                    return try syntax.parseRequest(head, limits: limits, fields: &fields)
                case .response(let requestMethod):
                    return try syntax.parseResponse(head, requestMethod: requestMethod, limits: limits, fields: &fields)
                }
            }
        }
    }

    // MARK: - Requests

    private mutating func parseRequest(
        _ head: ByteBuffer, limits: HTTP1Limits, fields: inout [HTTP1Field]
    ) throws(HTTP1ParseError) -> HTTP1Head {
        while ASCII.isTokenChar(bytes[index]) { index += 1 }
        let methodRange = 0..<index
        guard !methodRange.isEmpty, bytes[index] == ASCII.space else { throw lineError(.invalidRequestLine) }
        index += 1
        let targetStart = index
        while bytes[index] != ASCII.space, bytes[index] != ASCII.carriageReturn {
            guard ASCII.isTargetChar(bytes[index]) else { throw .invalidTarget }
            index += 1
        }
        let targetRange = targetStart..<index
        guard !targetRange.isEmpty, bytes[index] == ASCII.space else { throw lineError(.invalidRequestLine) }
        index += 1
        let (major, minor) = try parseVersion(else: .invalidRequestLine)
        guard bytes[index] == ASCII.carriageReturn else { throw .invalidRequestLine }
        try expectLineEnd()

        let methodKind = HTTPMethodKind(bytes, methodRange)
        let version: HTTP1Version
        switch (major, minor) {
        case (1, 0): version = .http1_0
        case (1, 1): version = .http1_1
        case (2, 0) where isHTTP2Preface(method: methodRange, target: targetRange):
            throw .http2Preface
        default: throw .unsupportedVersion
        }
        let target = try parseTarget(targetRange, method: methodKind)
        let fieldsStart = index
        try parseFields(limits: limits, fields: &fields)

        guard hostCount <= 1 else { throw .multipleHost }
        guard hostCount == 1 || version == .http1_0 else { throw .missingHost }
        if let hostRange, !ASCII.isValidAuthority(bytes, hostRange, requirePort: false, allowEmpty: true) {
            throw .invalidHost
        }
        let body: HTTP1BodyFraming
        if transferCodings.isPresent {
            try checkTransferEncodingAllowed(version: version)
            guard transferCodings.isSingleChunked else { throw .unsupportedTransferEncoding }
            body = .chunked
        } else if let contentLength {
            body = .contentLength(contentLength)
        } else {
            body = .none
        }
        let framing = FramingFacts(
            body: body,
            keepAlive: keepAlive(version: version),
            expectsContinue: expectsContinue && version == .http1_1,
            isUpgrade: hasUpgradeField && connectionUpgrade && version == .http1_1,
            hasExtraConnectionOptions: extraConnectionOptions
        )
        return HTTP1Head(
            kind: .request, bytes: head, version: version, fields: fields,
            methodKind: methodKind, methodRange: methodRange, target: target, hostRange: hostRange,
            statusCode: 0, reasonRange: 0..<0, framing: framing, fieldsStart: fieldsStart
        )
    }

    /// Whether the request line is `PRI * HTTP/2.0`, the start of the HTTP/2 connection preface
    /// (RFC 9113 §3.4).
    private func isHTTP2Preface(method: Range<Int>, target: Range<Int>) -> Bool {
        method.count == 3 && bytes[0] == UInt8(ascii: "P") && bytes[1] == UInt8(ascii: "R")
            && bytes[2] == UInt8(ascii: "I") && target.count == 1 && bytes[target.lowerBound] == ASCII.asterisk
    }

    /// The parts of the target in `range` (RFC 9112 §3.2), checked against the method.
    private func parseTarget(_ range: Range<Int>, method: HTTPMethodKind) throws(HTTP1ParseError) -> TargetParts {
        let end = range.upperBound
        if method == .connect {
            guard ASCII.isValidAuthority(bytes, range, requirePort: true, allowEmpty: false) else { throw .invalidTarget }
            return TargetParts(range: range, form: .authority, path: end..<end, authority: range)
        }
        let first = bytes[range.lowerBound]
        if first == ASCII.slash {
            let (path, query) = splitQuery(range)
            return TargetParts(range: range, form: .origin, path: path, query: query)
        }
        if first == ASCII.asterisk, range.count == 1 {
            guard method == .options else { throw .invalidTarget }
            return TargetParts(range: range, form: .asterisk, path: end..<end)
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
        let (path, query) = splitQuery(index..<end)
        return TargetParts(range: range, form: .absolute, path: path, query: query, scheme: scheme, authority: authority)
    }

    private func isSchemeChar(_ byte: UInt8) -> Bool {
        ASCII.isAlpha(byte) || ASCII.isDigit(byte) || byte == 0x2B || byte == 0x2D || byte == ASCII.period
    }

    /// `range` split at its first `?` into path and query.
    private func splitQuery(_ range: Range<Int>) -> (path: Range<Int>, query: Range<Int>?) {
        var index = range.lowerBound
        while index < range.upperBound, bytes[index] != ASCII.questionMark { index += 1 }
        guard index < range.upperBound else { return (range, nil) }
        return (range.lowerBound..<index, (index + 1)..<range.upperBound)
    }

    // MARK: - Responses

    private mutating func parseResponse(
        _ head: ByteBuffer, requestMethod: HTTPMethodKind, limits: HTTP1Limits, fields: inout [HTTP1Field]
    ) throws(HTTP1ParseError) -> HTTP1Head {
        let (major, minor) = try parseVersion(else: .invalidStatusLine)
        guard bytes[index] == ASCII.space else { throw lineError(.invalidStatusLine) }
        index += 1
        var statusCode = 0
        for _ in 0..<3 {
            guard ASCII.isDigit(bytes[index]) else { throw lineError(.invalidStatusLine) }
            statusCode = statusCode * 10 + Int(bytes[index] &- 0x30)
            index += 1
        }
        guard statusCode >= 100 else { throw .invalidStatusLine }
        var reasonRange = index..<index
        if bytes[index] == ASCII.space {
            index += 1
            let reasonStart = index
            while bytes[index] != ASCII.carriageReturn {
                guard ASCII.isFieldVisibleChar(bytes[index]) || ASCII.isWhitespace(bytes[index]) else {
                    throw .invalidStatusLine
                }
                index += 1
            }
            reasonRange = reasonStart..<index
        }
        guard bytes[index] == ASCII.carriageReturn else { throw .invalidStatusLine }
        try expectLineEnd()
        let version: HTTP1Version
        switch (major, minor) {
        case (1, 0): version = .http1_0
        case (1, 1): version = .http1_1
        default: throw .unsupportedVersion
        }
        let fieldsStart = index
        try parseFields(limits: limits, fields: &fields)

        if transferCodings.isPresent {
            try checkTransferEncodingAllowed(version: version)
            guard transferCodings.isChunkedLastIfPresent else { throw .unsupportedTransferEncoding }
        }
        let isSuccessfulConnect = requestMethod == .connect && statusCode >= 200 && statusCode < 300
        let body: HTTP1BodyFraming
        if requestMethod == .head || statusCode < 200 || statusCode == 204 || statusCode == 304 || isSuccessfulConnect {
            body = .none
        } else if transferCodings.isPresent {
            body = transferCodings.chunkedCount == 1 ? .chunked : .untilClose
        } else if let contentLength {
            body = .contentLength(contentLength)
        } else {
            body = .untilClose
        }
        let framing = FramingFacts(
            body: body,
            keepAlive: body != .untilClose && keepAlive(version: version),
            expectsContinue: false,
            isUpgrade: statusCode == 101 || isSuccessfulConnect,
            hasExtraConnectionOptions: extraConnectionOptions
        )
        return HTTP1Head(
            kind: .response, bytes: head, version: version, fields: fields,
            methodKind: requestMethod, methodRange: 0..<0, target: .none, hostRange: nil,
            statusCode: statusCode, reasonRange: reasonRange, framing: framing, fieldsStart: fieldsStart
        )
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
        while bytes[index] != ASCII.carriageReturn {
            guard !ASCII.isWhitespace(bytes[index]) else { throw .obsoleteLineFolding }
            let nameStart = index
            while ASCII.isTokenChar(bytes[index]) { index += 1 }
            let name = nameStart..<index
            guard bytes[index] == ASCII.colon else { throw nameError() }
            guard !name.isEmpty else { throw .invalidHeaderName }
            index += 1
            while ASCII.isWhitespace(bytes[index]) { index += 1 }
            let valueStart = index
            var valueEnd = index
            while bytes[index] != ASCII.carriageReturn {
                let byte = bytes[index]
                if ASCII.isFieldVisibleChar(byte) {
                    index += 1
                    valueEnd = index
                } else if ASCII.isWhitespace(byte) {
                    index += 1
                } else {
                    throw .invalidHeaderValue
                }
            }
            try expectLineEnd()
            guard fields.count < limits.maxHeaderCount else { throw .tooManyHeaders }
            let value = valueStart..<valueEnd
            fields.append(HTTP1Field(name: name, value: value))
            try noteField(name: name, value: value)
        }
        try expectLineEnd()
    }

    /// The error for a field name that stops at something other than a colon.
    private func nameError() -> HTTP1ParseError {
        switch bytes[index] {
        case ASCII.space, ASCII.horizontalTab:
            var next = index
            while ASCII.isWhitespace(bytes[next]) { next += 1 }
            return bytes[next] == ASCII.colon ? .whitespaceBeforeColon : .invalidHeaderName
        case ASCII.carriageReturn:
            return lineError(.headerWithoutColon)
        default:
            return .invalidHeaderName
        }
    }

    /// Records what a field that framing, routing or connection handling depends on says.
    private mutating func noteField(name: Range<Int>, value: Range<Int>) throws(HTTP1ParseError) {
        switch name.count {
        case 4 where ASCII.equalsIgnoringCase(bytes, name, "host"):
            hostCount += 1
            hostRange = value
        case 6 where ASCII.equalsIgnoringCase(bytes, name, "expect"):
            if ASCII.equalsIgnoringCase(bytes, value, "100-continue") { expectsContinue = true }
        case 7 where ASCII.equalsIgnoringCase(bytes, name, "upgrade"):
            hasUpgradeField = true
        case 10 where ASCII.equalsIgnoringCase(bytes, name, "connection"):
            noteConnectionOptions(value)
        case 14 where ASCII.equalsIgnoringCase(bytes, name, "content-length"):
            try noteContentLength(value)
        case 17 where ASCII.equalsIgnoringCase(bytes, name, "transfer-encoding"):
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
            if ASCII.equalsIgnoringCase(bytes, option, "close") {
                connectionClose = true
            } else if ASCII.equalsIgnoringCase(bytes, option, "keep-alive") {
                connectionKeepAlive = true
            } else if ASCII.equalsIgnoringCase(bytes, option, "upgrade") {
                connectionUpgrade = true
            } else if !option.isEmpty {
                extraConnectionOptions = true
            }
            return true
        }
    }

    /// Transfer-Encoding is not allowed in HTTP/1.0 (RFC 9112 §6.1) nor with Content-Length
    /// (RFC 9112 §6.3: rejected here for responses too, since the bytes are forwarded as
    /// received and an upstream or client might honour the Content-Length).
    private func checkTransferEncodingAllowed(version: HTTP1Version) throws(HTTP1ParseError) {
        guard version == .http1_1 else { throw .transferEncodingInHTTP10 }
        guard contentLength == nil else { throw .contentLengthWithTransferEncoding }
    }

    private func keepAlive(version: HTTP1Version) -> Bool {
        switch version {
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
            if ASCII.equalsIgnoringCase(bytes, coding, "chunked") {
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
