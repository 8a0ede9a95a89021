import Testing

@testable import HeddleHTTP1

@Suite("HTTP1ParseError")
struct HTTP1ParseErrorTests {
    static let all: [HTTP1ParseError] = [
        .headTooLarge, .tooManyHeaders, .invalidRequestLine, .invalidStatusLine, .unsupportedVersion,
        .http2Preface, .invalidTarget, .invalidHeaderName, .headerWithoutColon, .whitespaceBeforeColon,
        .invalidHeaderValue, .obsoleteLineFolding, .bareCarriageReturn, .bareLineFeed, .invalidContentLength,
        .conflictingContentLength, .contentLengthWithTransferEncoding, .unsupportedTransferEncoding,
        .transferEncodingInHTTP10, .missingHost, .multipleHost, .invalidHost, .invalidChunkSize,
        .chunkSizeTooLarge, .invalidChunkExtension, .chunkExtensionTooLong, .invalidChunkTerminator,
        .invalidTrailerField, .trailerSectionTooLarge, .forbiddenFieldEdit,
    ]

    @Test func identifiersAreUniqueAndKebabCase() {
        #expect(Set(Self.all).count == Self.all.count)
        #expect(Set(Self.all.map(\.identifier)).count == Self.all.count)
        for error in Self.all {
            #expect(!error.identifier.isEmpty)
            #expect(error.identifier.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D })
            #expect(!error.identifier.hasPrefix("-") && !error.identifier.hasSuffix("-"))
            #expect(!error.reason.isEmpty)
            #expect(error.description == "\(error.identifier) (\(error.httpStatus)): \(error.reason)")
        }
    }

    @Test(arguments: [
        (HTTP1ParseError.headTooLarge, "head-too-large", 431),
        (.tooManyHeaders, "too-many-headers", 431),
        (.invalidRequestLine, "invalid-request-line", 400),
        (.invalidStatusLine, "invalid-status-line", 400),
        (.unsupportedVersion, "unsupported-version", 505),
        (.http2Preface, "http2-preface", 505),
        (.invalidTarget, "invalid-target", 400),
        (.invalidHeaderName, "invalid-header-name", 400),
        (.headerWithoutColon, "header-without-colon", 400),
        (.whitespaceBeforeColon, "whitespace-before-colon", 400),
        (.invalidHeaderValue, "invalid-header-value", 400),
        (.obsoleteLineFolding, "obsolete-line-folding", 400),
        (.bareCarriageReturn, "bare-carriage-return", 400),
        (.bareLineFeed, "bare-line-feed", 400),
        (.invalidContentLength, "invalid-content-length", 400),
        (.conflictingContentLength, "conflicting-content-length", 400),
        (.contentLengthWithTransferEncoding, "content-length-with-transfer-encoding", 400),
        (.unsupportedTransferEncoding, "unsupported-transfer-encoding", 501),
        (.transferEncodingInHTTP10, "transfer-encoding-in-http10", 400),
        (.missingHost, "missing-host", 400),
        (.multipleHost, "multiple-host", 400),
        (.invalidHost, "invalid-host", 400),
        (.invalidChunkSize, "invalid-chunk-size", 400),
        (.chunkSizeTooLarge, "chunk-size-too-large", 400),
        (.invalidChunkExtension, "invalid-chunk-extension", 400),
        (.chunkExtensionTooLong, "chunk-extension-too-long", 400),
        (.invalidChunkTerminator, "invalid-chunk-terminator", 400),
        (.invalidTrailerField, "invalid-trailer-field", 400),
        (.trailerSectionTooLarge, "trailer-section-too-large", 400),
        (.forbiddenFieldEdit, "forbidden-field-edit", 500),
    ])
    func hasAStableIdentifierAndStatus(error: HTTP1ParseError, identifier: String, status: Int) {
        #expect(error.identifier == identifier)
        #expect(error.httpStatus == status)
    }
}
