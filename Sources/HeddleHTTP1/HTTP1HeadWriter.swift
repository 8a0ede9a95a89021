import NIOCore

/// Writes HTTP/1.1 heads: a received head with edits (for hop-by-hop removal, header
/// rules, target rewrites), or a small response the proxy makes itself, such as an error.
///
/// A received head is copied in runs of its original bytes, so an unedited head comes out
/// byte for byte as it came in. Every caller-given name, value, target and reason is validated
/// before anything is written, so no edit can inject a line break or a malformed field.
/// Content-Length and Transfer-Encoding can be neither added nor removed (the body is
/// forwarded unchanged, so they still frame it), and Host changes only through `host`:
/// such an edit throws `.forbiddenFieldEdit`. On any error `buffer` is left as it was.
public enum HTTP1HeadWriter {
    /// Text written into a head: a string's UTF-8, or a buffer's readable bytes, such as a
    /// slice of another head (`HTTP1Head.slice(_:)`).
    public struct Text: Sendable, Hashable, ExpressibleByStringLiteral {
        private enum Storage: Sendable, Hashable {
            case string(String)
            case bytes(ByteBuffer)
        }

        private let storage: Storage

        /// The UTF-8 of `string`.
        public init(_ string: String) {
            storage = .string(string)
        }

        /// The readable bytes of `bytes`.
        public init(_ bytes: ByteBuffer) {
            storage = .bytes(bytes)
        }

        /// The UTF-8 of a literal.
        public init(stringLiteral value: String) {
            storage = .string(value)
        }

        /// Calls `body` with the text's bytes.
        func withBytes<Result, Failure: Error>(
            _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
        ) throws(Failure) -> Result {
            switch storage {
            case .string(var string):
                let utf8: Swift.Result<Result, Failure> = string.withUTF8 { bytes in
                    Swift.Result { () throws(Failure) in try body(UnsafeRawBufferPointer(bytes)) }
                }
                return try utf8.get()
            case .bytes(let buffer):
                return try buffer.withUnsafeReadableBytes(body)
            }
        }

        /// The number of bytes of the text.
        var count: Int {
            switch storage {
            case .string(let string): string.utf8.count
            case .bytes(let buffer): buffer.readableBytes
            }
        }

        func write(to buffer: inout ByteBuffer) {
            switch storage {
            case .string(let string): buffer.writeString(string)
            case .bytes(let bytes): buffer.writeImmutableBuffer(bytes)
            }
        }
    }

    /// A field line to append to a head.
    public struct Field: Sendable, Hashable {
        /// The field name: a token, not Content-Length, Transfer-Encoding or Host.
        public var name: Text
        /// The field value: visible ASCII, obs-text, SP and HTAB, not starting or ending with
        /// whitespace.
        public var value: Text

        /// A field line `name: value`.
        public init(name: Text, value: Text) {
            self.name = name
            self.value = value
        }
    }

    /// The request target to write.
    public enum Target: Sendable, Hashable {
        /// The received target, byte for byte.
        case original
        /// An absolute-form target as origin-form, for the next hop when it is the origin:
        /// `http://host/p?q` becomes `/p?q`, an empty path `/` (or `*` for a bare OPTIONS,
        /// RFC 9112 §3.2.4). Any other form is kept.
        case originForm
        /// Another target: visible ASCII other than `#`.
        case replaced(Text)
    }

    /// Writes request `head` into `buffer` with `target`, the Host value `host` (replacing the
    /// received one in place, or added as the first field), without the fields for which
    /// `removingFieldsWhere` is true (for example `head.isHopByHop`), and with `extraFields`
    /// appended.
    public static func writeRequestHead(
        _ head: HTTP1Head,
        target: Target = .original,
        host: Text? = nil,
        removingFieldsWhere shouldRemove: (HTTP1Field) -> Bool = { _ in false },
        appending extraFields: [Field] = [],
        into buffer: inout ByteBuffer
    ) throws(HTTP1ParseError) {
        if case .replaced(let replacement) = target {
            try validate(replacement, error: .invalidTarget) { bytes in
                !bytes.isEmpty && bytes.allSatisfy(ASCII.isTargetChar)
            }
        }
        if let host {
            try validate(host, error: .invalidHost) { bytes in
                ASCII.isValidAuthority(bytes, 0..<bytes.count, requirePort: false, allowEmpty: true)
            }
        }
        try validate(extraFields)
        let start = buffer.writerIndex
        do throws(HTTP1ParseError) {
            try head.bytes.withUnsafeReadableBytes { (source) throws(HTTP1ParseError) in
                writeRequestLine(head, target: target, source: source, into: &buffer)
                if let host, head.hostRange == nil {
                    writeField(name: "Host", value: host, into: &buffer)
                }
                try writeFields(head, source: source, host: host, shouldRemove: shouldRemove, into: &buffer)
            }
        } catch {
            buffer.moveWriterIndex(to: start)
            throw error
        }
        finish(extraFields, into: &buffer)
    }

    /// Writes response `head` into `buffer` without the fields for which `removingFieldsWhere`
    /// is true and with `extraFields` appended.
    public static func writeResponseHead(
        _ head: HTTP1Head,
        removingFieldsWhere shouldRemove: (HTTP1Field) -> Bool = { _ in false },
        appending extraFields: [Field] = [],
        into buffer: inout ByteBuffer
    ) throws(HTTP1ParseError) {
        try validate(extraFields)
        let start = buffer.writerIndex
        do throws(HTTP1ParseError) {
            try head.bytes.withUnsafeReadableBytes { (source) throws(HTTP1ParseError) in
                write(source, 0..<Int(head.facts.fieldsStart), into: &buffer)
                try writeFields(head, source: source, host: nil, shouldRemove: shouldRemove, into: &buffer)
            }
        } catch {
            buffer.moveWriterIndex(to: start)
            throw error
        }
        finish(extraFields, into: &buffer)
    }

    /// Writes a complete HTTP/1.1 response: the status line, `fields`, and with a `body`
    /// a Content-Length and the body. Without one (for a 1xx, 204, 304, or a 2xx answering
    /// CONNECT) neither is written. `status` is 100–999; `reason` is visible ASCII, obs-text,
    /// SP and HTAB.
    public static func writeResponse(
        status: Int,
        reason: Text,
        fields: [Field] = [],
        body: Text? = nil,
        into buffer: inout ByteBuffer
    ) throws(HTTP1ParseError) {
        guard status >= 100, status <= 999 else { throw .invalidStatusLine }
        try validate(reason, error: .invalidStatusLine) { bytes in
            bytes.allSatisfy { ASCII.isFieldVisibleChar($0) || ASCII.isWhitespace($0) }
        }
        try validate(fields)
        buffer.writeString("HTTP/1.1 ")
        buffer.writeInteger(UInt8(truncatingIfNeeded: 0x30 + status / 100))
        buffer.writeInteger(UInt8(truncatingIfNeeded: 0x30 + status / 10 % 10))
        buffer.writeInteger(UInt8(truncatingIfNeeded: 0x30 + status % 10))
        buffer.writeInteger(ASCII.space)
        reason.write(to: &buffer)
        buffer.writeString("\r\n")
        for field in fields {
            writeField(name: field.name, value: field.value, into: &buffer)
        }
        if let body {
            buffer.writeString("Content-Length: ")
            buffer.writeString(String(body.count))
            buffer.writeString("\r\n\r\n")
            body.write(to: &buffer)
        } else {
            buffer.writeString("\r\n")
        }
    }

    // MARK: - Writing

    private static func writeRequestLine(
        _ head: HTTP1Head, target: Target, source: UnsafeRawBufferPointer, into buffer: inout ByteBuffer
    ) {
        let startLine = 0..<Int(head.facts.fieldsStart)
        let versionAndLineEnd = (startLine.upperBound - 10)..<startLine.upperBound
        switch target {
        case .original:
            write(source, startLine, into: &buffer)
        case .originForm where head.targetForm != .absolute:
            write(source, startLine, into: &buffer)
        case .originForm:
            write(source, head.methodRange, into: &buffer)
            buffer.writeInteger(ASCII.space)
            if head.pathRange.isEmpty {
                let isBareOptions = head.methodKind == .options && head.queryRange == nil
                buffer.writeInteger(isBareOptions ? ASCII.asterisk : ASCII.slash)
            }
            write(source, head.pathRange.lowerBound..<head.targetRange.upperBound, into: &buffer)
            buffer.writeInteger(ASCII.space)
            write(source, versionAndLineEnd, into: &buffer)
        case .replaced(let replacement):
            write(source, head.methodRange, into: &buffer)
            buffer.writeInteger(ASCII.space)
            replacement.write(to: &buffer)
            buffer.writeInteger(ASCII.space)
            write(source, versionAndLineEnd, into: &buffer)
        }
    }

    /// Copies the field lines that stay in runs of original bytes, replacing the Host value
    /// when `host` is given.
    private static func writeFields(
        _ head: HTTP1Head, source: UnsafeRawBufferPointer, host: Text?,
        shouldRemove: (HTTP1Field) -> Bool, into buffer: inout ByteBuffer
    ) throws(HTTP1ParseError) {
        let fields = head.fields
        let fieldsEnd = source.count - 2
        var runStart: Int?
        for (position, field) in fields.enumerated() {
            let lineStart = field.name.lowerBound
            let removed = shouldRemove(field)
            if removed, isFramingOrHost(source, field.name) { throw .forbiddenFieldEdit }
            let replaced = !removed && host != nil && ASCII.equalsLowercase(source, field.name, "host")
            if removed || replaced {
                if let start = runStart {
                    write(source, start..<lineStart, into: &buffer)
                    runStart = nil
                }
                if replaced, let host {
                    write(source, field.name, into: &buffer)
                    buffer.writeString(": ")
                    host.write(to: &buffer)
                    buffer.writeString("\r\n")
                }
            } else if runStart == nil {
                runStart = lineStart
            }
            if position == fields.count - 1, let start = runStart {
                write(source, start..<fieldsEnd, into: &buffer)
            }
        }
    }

    private static func finish(_ extraFields: [Field], into buffer: inout ByteBuffer) {
        for field in extraFields {
            writeField(name: field.name, value: field.value, into: &buffer)
        }
        buffer.writeString("\r\n")
    }

    private static func writeField(name: Text, value: Text, into buffer: inout ByteBuffer) {
        name.write(to: &buffer)
        buffer.writeString(": ")
        value.write(to: &buffer)
        buffer.writeString("\r\n")
    }

    private static func write(_ source: UnsafeRawBufferPointer, _ range: Range<Int>, into buffer: inout ByteBuffer) {
        buffer.writeBytes(UnsafeRawBufferPointer(rebasing: source[range]))
    }

    // MARK: - Validation

    private static func isFramingOrHost(_ bytes: UnsafeRawBufferPointer, _ name: Range<Int>) -> Bool {
        ASCII.equalsLowercase(bytes, name, "content-length")
            || ASCII.equalsLowercase(bytes, name, "transfer-encoding")
            || ASCII.equalsLowercase(bytes, name, "host")
    }

    private static func validate(_ fields: [Field]) throws(HTTP1ParseError) {
        for field in fields {
            try field.name.withBytes { (name) throws(HTTP1ParseError) in
                guard !name.isEmpty, name.allSatisfy(ASCII.isTokenChar) else { throw .invalidHeaderName }
                guard !isFramingOrHost(name, 0..<name.count) else { throw .forbiddenFieldEdit }
            }
            try validate(field.value, error: .invalidHeaderValue) { value in
                value.allSatisfy { ASCII.isFieldVisibleChar($0) || ASCII.isWhitespace($0) }
                    && !(value.first.map(ASCII.isWhitespace) ?? false)
                    && !(value.last.map(ASCII.isWhitespace) ?? false)
            }
        }
    }

    private static func validate(
        _ text: Text, error: HTTP1ParseError, _ isValid: (UnsafeRawBufferPointer) -> Bool
    ) throws(HTTP1ParseError) {
        guard text.withBytes(isValid) else { throw error }
    }
}
