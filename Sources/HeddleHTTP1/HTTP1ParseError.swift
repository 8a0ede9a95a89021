/// Why bytes from a peer could not be framed as HTTP/1.1, or why a head could not be written.
///
/// A struct over a private enum of codes, so new errors do not break callers: compare with the
/// static members (`error == .headTooLarge`). Each error has the status a server answers a
/// request that fails this way with (`httpStatus`; a proxy answers 502 when an upstream's
/// response fails), a short human `reason` and a stable kebab-case `identifier` for error
/// responses, logs and metrics.
public struct HTTP1ParseError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case headTooLarge
        case tooManyHeaders
        case invalidRequestLine
        case invalidStatusLine
        case unsupportedVersion
        case http2Preface
        case invalidTarget
        case invalidHeaderName
        case headerWithoutColon
        case whitespaceBeforeColon
        case invalidHeaderValue
        case obsoleteLineFolding
        case bareCarriageReturn
        case bareLineFeed
        case invalidContentLength
        case conflictingContentLength
        case contentLengthWithTransferEncoding
        case unsupportedTransferEncoding
        case transferEncodingInHTTP10
        case missingHost
        case multipleHost
        case invalidHost
        case invalidChunkSize
        case chunkSizeTooLarge
        case invalidChunkExtension
        case chunkExtensionTooLong
        case invalidChunkTerminator
        case invalidTrailerField
        case trailerSectionTooLarge
        case forbiddenFieldEdit
    }

    private let code: Code

    private init(_ code: Code) {
        self.code = code
    }

    /// The head is longer than `HTTP1Limits.maxHeadBytes`.
    public static let headTooLarge = HTTP1ParseError(.headTooLarge)
    /// The head has more field lines than `HTTP1Limits.maxHeaderCount`.
    public static let tooManyHeaders = HTTP1ParseError(.tooManyHeaders)
    /// The request line is not `method SP request-target SP HTTP-version CRLF`.
    public static let invalidRequestLine = HTTP1ParseError(.invalidRequestLine)
    /// The status line is not `HTTP-version SP 3DIGIT [SP reason] CRLF`, or a status or reason
    /// given to the head writer is invalid.
    public static let invalidStatusLine = HTTP1ParseError(.invalidStatusLine)
    /// The version is well formed but neither HTTP/1.0 nor HTTP/1.1.
    public static let unsupportedVersion = HTTP1ParseError(.unsupportedVersion)
    /// The bytes start with the HTTP/2 connection preface (`PRI * HTTP/2.0`): an h2c
    /// prior-knowledge client is talking to an HTTP/1.1 listener.
    public static let http2Preface = HTTP1ParseError(.http2Preface)
    /// The request target has a byte outside visible ASCII or `#`, or its form does not suit
    /// the method (authority-form is only for CONNECT, `*` only for OPTIONS).
    public static let invalidTarget = HTTP1ParseError(.invalidTarget)
    /// A field name is empty or has a byte that is not a token character.
    public static let invalidHeaderName = HTTP1ParseError(.invalidHeaderName)
    /// A field line has no colon.
    public static let headerWithoutColon = HTTP1ParseError(.headerWithoutColon)
    /// Whitespace between a field name and its colon (RFC 9112 §5.1).
    public static let whitespaceBeforeColon = HTTP1ParseError(.whitespaceBeforeColon)
    /// A field value has a control character (NUL, DEL, …) other than HTAB.
    public static let invalidHeaderValue = HTTP1ParseError(.invalidHeaderValue)
    /// A line starts with whitespace: obsolete line folding (RFC 9112 §5.2).
    public static let obsoleteLineFolding = HTTP1ParseError(.obsoleteLineFolding)
    /// A CR not followed by LF.
    public static let bareCarriageReturn = HTTP1ParseError(.bareCarriageReturn)
    /// An LF not preceded by CR.
    public static let bareLineFeed = HTTP1ParseError(.bareLineFeed)
    /// Content-Length is not `1*DIGIT` at most 2^62 (a comma-separated list is rejected).
    public static let invalidContentLength = HTTP1ParseError(.invalidContentLength)
    /// Content-Length fields with different values.
    public static let conflictingContentLength = HTTP1ParseError(.conflictingContentLength)
    /// Both Content-Length and Transfer-Encoding: the classic request-smuggling ambiguity.
    public static let contentLengthWithTransferEncoding = HTTP1ParseError(.contentLengthWithTransferEncoding)
    /// A Transfer-Encoding other than a single `chunked` in a request, or one where `chunked`
    /// is repeated or not last in a response.
    public static let unsupportedTransferEncoding = HTTP1ParseError(.unsupportedTransferEncoding)
    /// Transfer-Encoding in an HTTP/1.0 message, whose framing is then faulty (RFC 9112 §6.1).
    public static let transferEncodingInHTTP10 = HTTP1ParseError(.transferEncodingInHTTP10)
    /// An HTTP/1.1 request without Host (RFC 9112 §3.2).
    public static let missingHost = HTTP1ParseError(.missingHost)
    /// A request with more than one Host field.
    public static let multipleHost = HTTP1ParseError(.multipleHost)
    /// A Host value that is not `host[:port]`.
    public static let invalidHost = HTTP1ParseError(.invalidHost)
    /// A chunk-size line that does not start with a hexadecimal size.
    public static let invalidChunkSize = HTTP1ParseError(.invalidChunkSize)
    /// A chunk size above 2^62, or written with more than 32 digits.
    public static let chunkSizeTooLarge = HTTP1ParseError(.chunkSizeTooLarge)
    /// A chunk extension that is not `;name[=token|quoted-string]`.
    public static let invalidChunkExtension = HTTP1ParseError(.invalidChunkExtension)
    /// Chunk extensions longer than `HTTP1Limits.maxChunkExtensionBytes`.
    public static let chunkExtensionTooLong = HTTP1ParseError(.chunkExtensionTooLong)
    /// Chunk data not followed by CRLF.
    public static let invalidChunkTerminator = HTTP1ParseError(.invalidChunkTerminator)
    /// A trailer line that is not a valid field line.
    public static let invalidTrailerField = HTTP1ParseError(.invalidTrailerField)
    /// A trailer section longer than `HTTP1Limits.maxTrailerBytes`.
    public static let trailerSectionTooLarge = HTTP1ParseError(.trailerSectionTooLarge)
    /// The head writer was asked to add, remove or replace Content-Length, Transfer-Encoding or
    /// Host as a plain field: the body is forwarded unchanged, so its framing fields must stay,
    /// and Host changes only through the writer's `host` argument.
    public static let forbiddenFieldEdit = HTTP1ParseError(.forbiddenFieldEdit)

    /// The status a server answers a request that fails with this error.
    public var httpStatus: Int {
        switch code {
        case .headTooLarge, .tooManyHeaders:
            431
        case .unsupportedVersion, .http2Preface:
            505
        case .unsupportedTransferEncoding:
            501
        case .forbiddenFieldEdit:
            500
        default:
            400
        }
    }

    /// A short human explanation, for error response bodies and logs.
    public var reason: String {
        switch code {
        case .headTooLarge: "message head too large"
        case .tooManyHeaders: "too many header fields"
        case .invalidRequestLine: "invalid request line"
        case .invalidStatusLine: "invalid status line"
        case .unsupportedVersion: "HTTP version not supported"
        case .http2Preface: "HTTP/2 connection preface sent to an HTTP/1.1 listener"
        case .invalidTarget: "invalid request target"
        case .invalidHeaderName: "invalid header field name"
        case .headerWithoutColon: "header field line without a colon"
        case .whitespaceBeforeColon: "whitespace between header field name and colon"
        case .invalidHeaderValue: "invalid character in header field value"
        case .obsoleteLineFolding: "obsolete line folding"
        case .bareCarriageReturn: "CR not followed by LF"
        case .bareLineFeed: "LF not preceded by CR"
        case .invalidContentLength: "invalid Content-Length"
        case .conflictingContentLength: "conflicting Content-Length values"
        case .contentLengthWithTransferEncoding: "both Content-Length and Transfer-Encoding"
        case .unsupportedTransferEncoding: "unsupported Transfer-Encoding"
        case .transferEncodingInHTTP10: "Transfer-Encoding in an HTTP/1.0 message"
        case .missingHost: "missing Host"
        case .multipleHost: "more than one Host"
        case .invalidHost: "invalid Host"
        case .invalidChunkSize: "invalid chunk size"
        case .chunkSizeTooLarge: "chunk size too large"
        case .invalidChunkExtension: "invalid chunk extension"
        case .chunkExtensionTooLong: "chunk extensions too long"
        case .invalidChunkTerminator: "chunk data not followed by CRLF"
        case .invalidTrailerField: "invalid trailer field"
        case .trailerSectionTooLarge: "trailer section too large"
        case .forbiddenFieldEdit: "framing or Host field edited as a plain field"
        }
    }

    /// A stable kebab-case name, such as `content-length-with-transfer-encoding`.
    public var identifier: String {
        switch code {
        case .headTooLarge: "head-too-large"
        case .tooManyHeaders: "too-many-headers"
        case .invalidRequestLine: "invalid-request-line"
        case .invalidStatusLine: "invalid-status-line"
        case .unsupportedVersion: "unsupported-version"
        case .http2Preface: "http2-preface"
        case .invalidTarget: "invalid-target"
        case .invalidHeaderName: "invalid-header-name"
        case .headerWithoutColon: "header-without-colon"
        case .whitespaceBeforeColon: "whitespace-before-colon"
        case .invalidHeaderValue: "invalid-header-value"
        case .obsoleteLineFolding: "obsolete-line-folding"
        case .bareCarriageReturn: "bare-carriage-return"
        case .bareLineFeed: "bare-line-feed"
        case .invalidContentLength: "invalid-content-length"
        case .conflictingContentLength: "conflicting-content-length"
        case .contentLengthWithTransferEncoding: "content-length-with-transfer-encoding"
        case .unsupportedTransferEncoding: "unsupported-transfer-encoding"
        case .transferEncodingInHTTP10: "transfer-encoding-in-http10"
        case .missingHost: "missing-host"
        case .multipleHost: "multiple-host"
        case .invalidHost: "invalid-host"
        case .invalidChunkSize: "invalid-chunk-size"
        case .chunkSizeTooLarge: "chunk-size-too-large"
        case .invalidChunkExtension: "invalid-chunk-extension"
        case .chunkExtensionTooLong: "chunk-extension-too-long"
        case .invalidChunkTerminator: "invalid-chunk-terminator"
        case .invalidTrailerField: "invalid-trailer-field"
        case .trailerSectionTooLarge: "trailer-section-too-large"
        case .forbiddenFieldEdit: "forbidden-field-edit"
        }
    }

    public var description: String {
        "\(identifier) (\(httpStatus)): \(reason)"
    }
}
