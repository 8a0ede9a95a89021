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
    static let at: UInt8 = 0x40
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

    @inline(__always)
    private static func isIn(_ byte: UInt8, low: UInt64, high: UInt64) -> Bool {
        if byte < 64 { return (low >> UInt64(byte)) & 1 == 1 }
        if byte < 128 { return (high >> UInt64(byte &- 64)) & 1 == 1 }
        return false
    }

    /// The offset of the first LF in `bytes[start..<end]`, found with `memchr`.
    static func firstLineFeed(in bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int? {
        guard start < end, let base = bytes.baseAddress,
              let found = memchr(base + start, Int32(lineFeed), end - start)
        else { return nil }
        return base.distance(to: UnsafeRawPointer(found))
    }

    /// Whether `bytes[range]` equals `lowercase` (lowercase ASCII) ignoring ASCII case.
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ lowercase: StaticString) -> Bool {
        guard range.count == lowercase.utf8CodeUnitCount else { return false }
        return lowercase.withUTF8Buffer { literal in
            var index = range.lowerBound
            for expected in literal {
                guard lowercased(bytes[index]) == expected else { return false }
                index += 1
            }
            return true
        }
    }

    /// Whether `bytes[range]` equals the UTF-8 of `lowercase` ignoring ASCII case.
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ lowercase: String) -> Bool {
        let utf8 = lowercase.utf8
        guard range.count == utf8.count else { return false }
        var index = range.lowerBound
        for expected in utf8 {
            guard lowercased(bytes[index]) == expected else { return false }
            index += 1
        }
        return true
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
