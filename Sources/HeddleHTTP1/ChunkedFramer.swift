import NIOCore

/// Finds the end of a chunked body (RFC 9112 §7.1) in bytes that arrive in pieces of any
/// size, validating its framing; the caller forwards the bytes unchanged.
///
/// A state machine over single bytes for chunk-size lines, extensions and trailers, skipping
/// chunk data in bulk: the total work is linear in the body's size however it is split.
/// Accepted: hexadecimal sizes of either case with leading zeros, up to 2^62 and 32 digits;
/// extensions `;name[=token|"quoted"]` with optional whitespace around `;` and `=`, at most
/// `HTTP1Limits.maxChunkExtensionBytes` per line; trailer field lines, at most
/// `HTTP1Limits.maxTrailerBytes` in all. Every line ends with CRLF; a bare CR or LF anywhere is
/// an error, as is whitespace between a size and CRLF.
public struct ChunkedFramer: Sendable {
    private enum State: Sendable {
        case sizeStart
        case size
        case extensionBeforeSemicolon
        case extensionBeforeName
        case extensionName
        case extensionAfterName
        case extensionBeforeValue
        case extensionTokenValue
        case extensionQuotedValue
        case extensionQuotedPair
        case extensionAfterQuotedValue
        case sizeLineFeed
        case data
        case dataCarriageReturn
        case dataLineFeed
        case trailerLineStart
        case trailerName
        case trailerValue
        case trailerLineFeed
        case finalLineFeed
        case finished
        case failed(HTTP1ParseError)
    }

    private static let maxSizeDigits = 32

    private let maxExtensionBytes: Int
    private let maxTrailerBytes: Int
    private var state = State.sizeStart
    /// The size being read, then the chunk data bytes still to come.
    private var remaining: UInt64 = 0
    private var sizeDigits = 0
    private var extensionBytes = 0
    private var trailerBytes = 0

    /// A framer at the start of a chunked body, enforcing the chunk limits of `limits`.
    public init(limits: HTTP1Limits = HTTP1Limits()) {
        maxExtensionBytes = limits.maxChunkExtensionBytes
        maxTrailerBytes = limits.maxTrailerBytes
    }

    /// Whether the body has ended: the last chunk, the trailers and the final CRLF were seen.
    public var isFinished: Bool {
        if case .finished = state { return true }
        return false
    }

    /// Frames the readable bytes of `buffer`, which continue the body where the previous call
    /// stopped. After `.finished` it consumes nothing more; after `.error` it repeats the error.
    public mutating func advance(over buffer: ByteBuffer) -> HTTP1BodyStep {
        buffer.withUnsafeReadableBytes { advance(over: $0) }
    }

    private mutating func advance(over bytes: UnsafeRawBufferPointer) -> HTTP1BodyStep {
        var index = 0
        while index < bytes.count {
            switch state {
            case .data:
                let available = UInt64(bytes.count - index)
                let taken = min(available, remaining)
                index += Int(taken)
                remaining -= taken
                if remaining == 0 { state = .dataCarriageReturn }
            case .finished:
                return .finished(consumed: index)
            case .failed(let error):
                return .error(error)
            default:
                if let error = step(bytes[index]) {
                    state = .failed(error)
                    return .error(error)
                }
                index += 1
            }
        }
        switch state {
        case .finished: return .finished(consumed: index)
        case .failed(let error): return .error(error)
        default: return .inProgress(consumed: index)
        }
    }

    /// Moves over one byte outside chunk data; returns the error it causes, if any.
    private mutating func step(_ byte: UInt8) -> HTTP1ParseError? {
        switch state {
        case .sizeStart:
            guard let digit = ASCII.hexValue(byte) else { return lineError(byte, else: .invalidChunkSize) }
            remaining = UInt64(digit)
            sizeDigits = 1
            extensionBytes = 0
            state = .size
        case .size:
            if let digit = ASCII.hexValue(byte) {
                sizeDigits += 1
                guard sizeDigits <= Self.maxSizeDigits, remaining <= (HeadSyntax.maxBodyLength - UInt64(digit)) / 16 else {
                    return .chunkSizeTooLarge
                }
                remaining = remaining * 16 + UInt64(digit)
            } else if byte == ASCII.carriageReturn {
                state = .sizeLineFeed
            } else if ASCII.isWhitespace(byte) || byte == ASCII.semicolon {
                return stepExtension(byte, from: .extensionBeforeSemicolon)
            } else {
                return lineError(byte, else: .invalidChunkSize)
            }
        case .extensionBeforeSemicolon, .extensionBeforeName, .extensionName, .extensionAfterName,
             .extensionBeforeValue, .extensionTokenValue, .extensionQuotedValue, .extensionQuotedPair,
             .extensionAfterQuotedValue:
            return stepExtension(byte, from: state)
        case .sizeLineFeed:
            guard byte == ASCII.lineFeed else { return .bareCarriageReturn }
            if remaining == 0 {
                trailerBytes = 0
                state = .trailerLineStart
            } else {
                state = .data
            }
        case .dataCarriageReturn:
            guard byte == ASCII.carriageReturn else { return .invalidChunkTerminator }
            state = .dataLineFeed
        case .dataLineFeed:
            guard byte == ASCII.lineFeed else { return .invalidChunkTerminator }
            state = .sizeStart
        case .trailerLineStart, .trailerName, .trailerValue, .trailerLineFeed, .finalLineFeed:
            trailerBytes += 1
            guard trailerBytes <= maxTrailerBytes else { return .trailerSectionTooLarge }
            return stepTrailer(byte)
        case .data, .finished, .failed:
            break
        }
        return nil
    }

    /// One byte of chunk extensions (RFC 9112 §7.1.1):
    /// `*( BWS ";" BWS ext-name [ BWS "=" BWS ( token / quoted-string ) ] )`.
    private mutating func stepExtension(_ byte: UInt8, from current: State) -> HTTP1ParseError? {
        if byte != ASCII.carriageReturn {
            extensionBytes += 1
            guard extensionBytes <= maxExtensionBytes else { return .chunkExtensionTooLong }
        }
        let isWhitespace = ASCII.isWhitespace(byte)
        let isToken = ASCII.isTokenChar(byte)
        let next: State?
        switch current {
        case .extensionBeforeSemicolon:
            next = isWhitespace ? .extensionBeforeSemicolon : byte == ASCII.semicolon ? .extensionBeforeName : nil
        case .extensionBeforeName:
            next = isWhitespace ? .extensionBeforeName : isToken ? .extensionName : nil
        case .extensionName:
            next = isToken ? .extensionName : afterExtensionItem(byte) ?? (isWhitespace ? .extensionAfterName : nil)
        case .extensionAfterName:
            next = isWhitespace ? .extensionAfterName : afterExtensionItem(byte, allowEnd: false)
        case .extensionBeforeValue:
            next = isWhitespace ? .extensionBeforeValue : isToken ? .extensionTokenValue
                : byte == ASCII.quote ? .extensionQuotedValue : nil
        case .extensionTokenValue:
            next = isToken ? .extensionTokenValue : afterExtensionItem(byte, allowEquals: false)
                ?? (isWhitespace ? .extensionBeforeSemicolon : nil)
        case .extensionQuotedValue:
            next = byte == ASCII.quote ? .extensionAfterQuotedValue : byte == ASCII.backslash ? .extensionQuotedPair
                : (ASCII.isFieldVisibleChar(byte) || isWhitespace) ? .extensionQuotedValue : nil
        case .extensionQuotedPair:
            next = (ASCII.isFieldVisibleChar(byte) || isWhitespace) ? .extensionQuotedValue : nil
        default:
            next = isWhitespace ? .extensionBeforeSemicolon : afterExtensionItem(byte, allowEquals: false)
        }
        guard let next else { return lineError(byte, else: .invalidChunkExtension) }
        state = next
        return nil
    }

    /// The state after a byte that may follow an extension name or value: `;` starts the next
    /// extension, `=` a value (after a name), CR ends the line.
    private func afterExtensionItem(_ byte: UInt8, allowEquals: Bool = true, allowEnd: Bool = true) -> State? {
        switch byte {
        case ASCII.semicolon: .extensionBeforeName
        case ASCII.equals where allowEquals: .extensionBeforeValue
        case ASCII.carriageReturn where allowEnd: .sizeLineFeed
        default: nil
        }
    }

    /// One byte of the trailer section (RFC 9112 §7.1.2): field lines, then CRLF.
    private mutating func stepTrailer(_ byte: UInt8) -> HTTP1ParseError? {
        switch state {
        case .trailerLineStart:
            if byte == ASCII.carriageReturn {
                state = .finalLineFeed
            } else if ASCII.isTokenChar(byte) {
                state = .trailerName
            } else if ASCII.isWhitespace(byte) {
                return .obsoleteLineFolding
            } else {
                return lineError(byte, else: .invalidTrailerField)
            }
        case .trailerName:
            if byte == ASCII.colon {
                state = .trailerValue
            } else if !ASCII.isTokenChar(byte) {
                return lineError(byte, else: .invalidTrailerField)
            }
        case .trailerValue:
            if byte == ASCII.carriageReturn {
                state = .trailerLineFeed
            } else if !ASCII.isFieldVisibleChar(byte), !ASCII.isWhitespace(byte) {
                return lineError(byte, else: .invalidTrailerField)
            }
        case .trailerLineFeed:
            guard byte == ASCII.lineFeed else { return .bareCarriageReturn }
            state = .trailerLineStart
        default:
            guard byte == ASCII.lineFeed else { return .bareCarriageReturn }
            state = .finished
        }
        return nil
    }

    /// `.bareLineFeed` for an LF where a CR should have come first, else `error`.
    private func lineError(_ byte: UInt8, else error: HTTP1ParseError) -> HTTP1ParseError {
        byte == ASCII.lineFeed ? .bareLineFeed : error
    }
}
