#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Byte classes of the HTTP/1.1 grammar (RFC 9110 §5.6, RFC 9112, RFC 3986) and the byte
/// searches the parsers share.
enum ASCII {
    static let horizontalTab: UInt8 = 0x09
    static let lineFeed: UInt8 = 0x0A
    static let carriageReturn: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let quote: UInt8 = 0x22
    static let hash: UInt8 = 0x23
    static let percent: UInt8 = 0x25
    static let asterisk: UInt8 = 0x2A
    static let comma: UInt8 = 0x2C
    static let period: UInt8 = 0x2E
    static let slash: UInt8 = 0x2F
    static let colon: UInt8 = 0x3A
    static let semicolon: UInt8 = 0x3B
    static let equals: UInt8 = 0x3D
    static let questionMark: UInt8 = 0x3F
    static let openBracket: UInt8 = 0x5B
    static let backslash: UInt8 = 0x5C
    static let closeBracket: UInt8 = 0x5D

    /// `tchar` (RFC 9110 §5.6.2): ALPHA, DIGIT and ``!#$%&'*+-.^_`|~``.
    @inline(__always)
    static func isTokenChar(_ byte: UInt8) -> Bool {
        isIn(byte, low: 0x03FF_6CFA_0000_0000, high: 0x57FF_FFFF_C7FF_FFFE)
    }

    /// A byte of a host name: RFC 3986 `unreserved`, `sub-delims` and `%` of `pct-encoded`.
    @inline(__always)
    static func isRegNameChar(_ byte: UInt8) -> Bool {
        isIn(byte, low: 0x2BFF_7FF2_0000_0000, high: 0x47FF_FFFE_87FF_FFFE)
    }

    /// `field-vchar` (RFC 9110 §5.5): VCHAR or obs-text.
    @inline(__always)
    static func isFieldVisibleChar(_ byte: UInt8) -> Bool {
        byte > space && byte != 0x7F
    }

    /// SP or HTAB: the whitespace of `OWS`, `RWS` and `BWS`.
    @inline(__always)
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == space || byte == horizontalTab
    }

    /// A byte allowed in a request target: visible ASCII other than `#` (a fragment is never sent).
    @inline(__always)
    static func isTargetChar(_ byte: UInt8) -> Bool {
        byte > space && byte < 0x7F && byte != hash
    }

    @inline(__always)
    static func isDigit(_ byte: UInt8) -> Bool {
        byte &- 0x30 < 10
    }

    @inline(__always)
    static func isAlpha(_ byte: UInt8) -> Bool {
        (byte | 0x20) &- 0x61 < 26
    }

    /// The value of a hexadecimal digit, or nil for any other byte.
    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt8? {
        if byte &- 0x30 < 10 { return byte &- 0x30 }
        let lower = byte | 0x20
        if lower &- 0x61 < 6 { return lower &- 0x61 &+ 10 }
        return nil
    }

    @inline(__always)
    static func lowercased(_ byte: UInt8) -> UInt8 {
        byte &- 0x41 < 26 ? byte | 0x20 : byte
    }

    /// Whether `byte` is in the set of ASCII bytes whose bits are set in `low` (bytes 0–63)
    /// and `high` (bytes 64–127).
    @inline(__always)
    private static func isIn(_ byte: UInt8, low: UInt64, high: UInt64) -> Bool {
        let mask = byte < 64 ? low : high
        return byte < 128 && (mask >> UInt64(byte & 63)) & 1 == 1
    }

    // MARK: - Word-at-a-time scans

    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Whether some byte of `word` is below `limit` (at most 128); exact as a yes/no answer.
    @inline(__always)
    private static func hasByte(below limit: UInt8, in word: UInt64) -> Bool {
        (word &- ones &* UInt64(limit)) & ~word & highBits != 0
    }

    /// Whether some byte of `word` equals `byte`; exact as a yes/no answer.
    @inline(__always)
    private static func hasByte(_ byte: UInt8, in word: UInt64) -> Bool {
        hasByte(below: 1, in: word ^ (ones &* UInt64(byte)))
    }

    /// Whether some byte of `word` is 0x7F or above.
    @inline(__always)
    private static func hasByteFrom7F(in word: UInt64) -> Bool {
        (word | (word &+ ones)) & highBits != 0
    }

    /// The offset of the first byte at or after `start` that is not `field-vchar`, SP or HTAB:
    /// where a field value (or reason phrase) stops. Checks eight bytes at a time; the caller
    /// guarantees a stopping byte (the line's CR) before the end.
    @inline(__always)
    static func endOfFieldValue(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        let wordsEnd = bytes.count - 8
        while true {
            if index <= wordsEnd {
                let word = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                if !hasByte(below: space, in: word), !hasByte(0x7F, in: word) {
                    index += 8
                    continue
                }
            }
            for _ in 0..<8 {
                let byte = bytes[index]
                guard isFieldVisibleChar(byte) || isWhitespace(byte) else { return index }
                index += 1
            }
        }
    }

    /// The offset of the first byte at or after `start` that is not allowed in a request
    /// target: where the target stops (at SP when it is valid). Checks eight bytes at a time;
    /// the caller guarantees a stopping byte (the line's CR) before the end.
    @inline(__always)
    static func endOfTarget(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        let wordsEnd = bytes.count - 8
        while true {
            if index <= wordsEnd {
                let word = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                if !hasByte(below: 0x21, in: word), !hasByteFrom7F(in: word), !hasByte(hash, in: word) {
                    index += 8
                    continue
                }
            }
            for _ in 0..<8 {
                guard isTargetChar(bytes[index]) else { return index }
                index += 1
            }
        }
    }

    /// Whether `bytes[range]` equals `lowercase` ignoring ASCII case, where `lowercase` is
    /// lowercase letters, digits and `-`, and `bytes[range]` holds field-name or field-value
    /// bytes (no CTL), as every parsed name and value does. Then setting bit 0x20 maps only
    /// the two cases of a letter to that lowercase letter and leaves digits and `-` alone, so
    /// whole words compare at once.
    @inline(__always)
    static func equalsLowercase(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ lowercase: StaticString) -> Bool {
        let count = lowercase.utf8CodeUnitCount
        guard range.count == count, count > 0, let base = bytes.baseAddress else { return count == 0 && range.isEmpty }
        let source = base + range.lowerBound
        let literal = UnsafeRawPointer(lowercase.utf8Start)
        switch count {
        case 1:
            return source.load(as: UInt8.self) | 0x20 == literal.load(as: UInt8.self)
        case 2...3:
            return source.loadUnaligned(as: UInt16.self) | 0x2020 == literal.loadUnaligned(as: UInt16.self)
                && source.loadUnaligned(fromByteOffset: count - 2, as: UInt16.self) | 0x2020
                    == literal.loadUnaligned(fromByteOffset: count - 2, as: UInt16.self)
        case 4...7:
            return source.loadUnaligned(as: UInt32.self) | 0x2020_2020 == literal.loadUnaligned(as: UInt32.self)
                && source.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self) | 0x2020_2020
                    == literal.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)
        default:
            let lowercaseBits = ones &* 0x20
            var offset = 0
            while offset + 8 < count {
                guard source.loadUnaligned(fromByteOffset: offset, as: UInt64.self) | lowercaseBits
                    == literal.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                else { return false }
                offset += 8
            }
            return source.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self) | lowercaseBits
                == literal.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
        }
    }

    /// The offset of the first LF in `bytes[start..<end]`, found with `memchr`.
    static func firstLineFeed(in bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int? {
        guard start < end, let base = bytes.baseAddress,
              let found = memchr(base + start, Int32(lineFeed), end - start)
        else { return nil }
        return base.distance(to: UnsafeRawPointer(found))
    }

    /// Whether `bytes[range]`, which may hold any bytes, equals the UTF-8 of `lowercase`
    /// ignoring ASCII case.
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ lowercase: String) -> Bool {
        let utf8 = lowercase.utf8
        guard range.count == utf8.count else { return false }
        func equal(_ expected: some Sequence<UInt8>) -> Bool {
            var index = range.lowerBound
            for byte in expected {
                guard lowercased(bytes[index]) == byte else { return false }
                index += 1
            }
            return true
        }
        return utf8.withContiguousStorageIfAvailable(equal) ?? equal(utf8)
    }

    /// Calls `body` with each element of the comma-separated list in `bytes[range]`, OWS
    /// trimmed (RFC 9110 §5.6.1); empty elements are passed as empty ranges. Stops early when
    /// `body` returns false.
    static func forEachListElement(
        _ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ body: (Range<Int>) -> Bool
    ) {
        var start = range.lowerBound
        while true {
            var end = start
            while end < range.upperBound, bytes[end] != comma { end += 1 }
            var first = start
            var last = end
            while first < last, isWhitespace(bytes[first]) { first += 1 }
            while last > first, isWhitespace(bytes[last - 1]) { last -= 1 }
            guard body(first..<last), end < range.upperBound else { return }
            start = end + 1
        }
    }

    /// Whether `bytes[range]` is `uri-host [ ":" port ]` (RFC 3986 §3.2.2–3.2.3, no userinfo).
    /// `requirePort` demands a non-empty port, as the authority-form of CONNECT does; an empty
    /// range is valid only when `allowEmpty` (an empty Host field, RFC 9110 §7.2).
    static func isValidAuthority(
        _ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, requirePort: Bool, allowEmpty: Bool
    ) -> Bool {
        let end = range.upperBound
        var index = range.lowerBound
        if index == end { return allowEmpty }
        let hostStart = index
        if bytes[index] == openBracket {
            index += 1
            while index < end, bytes[index] != closeBracket {
                let byte = bytes[index]
                guard byte == colon || (isRegNameChar(byte) && byte != percent) else { return false }
                index += 1
            }
            guard index < end, index > hostStart + 1 else { return false }
            index += 1
        } else {
            while index < end, bytes[index] != colon {
                let byte = bytes[index]
                guard isRegNameChar(byte) else { return false }
                if byte == percent {
                    guard index + 2 < end, hexValue(bytes[index + 1]) != nil, hexValue(bytes[index + 2]) != nil
                    else { return false }
                    index += 2
                }
                index += 1
            }
            guard index > hostStart else { return false }
        }
        if index == end { return !requirePort }
        guard bytes[index] == colon else { return false }
        index += 1
        let portStart = index
        while index < end {
            guard isDigit(bytes[index]) else { return false }
            index += 1
        }
        let digits = end - portStart
        return digits <= 5 && (digits > 0 || !requirePort)
    }
}
