import Testing

@testable import HeddleHTTP1

@Suite("ASCII byte classes")
struct ASCIITests {
    @Test func tokenCharactersMatchRFC9110() {
        let tchar = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        for byte in UInt8.min...UInt8.max {
            #expect(ASCII.isTokenChar(byte) == tchar.contains(byte), "\(byte)")
        }
    }

    @Test func regNameCharactersMatchRFC3986() {
        let regName = Set("-._~!$&'()*+,;=%0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        for byte in UInt8.min...UInt8.max {
            #expect(ASCII.isRegNameChar(byte) == regName.contains(byte), "\(byte)")
        }
    }

    @Test func classifiesFieldAndTargetBytes() {
        for byte in UInt8.min...UInt8.max {
            #expect(ASCII.isFieldVisibleChar(byte) == ((0x21...0x7E).contains(byte) || byte >= 0x80))
            #expect(ASCII.isTargetChar(byte) == ((0x21...0x7E).contains(byte) && byte != 0x23))
            let hex = Set("0123456789abcdefABCDEF".utf8).contains(byte)
            #expect((ASCII.hexValue(byte) != nil) == hex)
            let lowered = (0x41...0x5A).contains(byte) ? byte + 0x20 : byte
            #expect(ASCII.lowercased(byte) == lowered)
        }
        #expect(ASCII.hexValue(UInt8(ascii: "F")) == 15)
        #expect(ASCII.hexValue(UInt8(ascii: "a")) == 10)
        #expect(ASCII.hexValue(UInt8(ascii: "9")) == 9)
    }

    /// Every byte value at every offset of a run: the word-at-a-time scans stop exactly where
    /// a byte-by-byte scan would.
    @Test func wordScansStopAtTheFirstDisallowedByte() {
        for byte in UInt8.min...UInt8.max {
            for position in 0..<20 {
                var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 20) + [ASCII.carriageReturn, ASCII.lineFeed]
                bytes[position] = byte
                let valueEnd = ASCII.isFieldVisibleChar(byte) || ASCII.isWhitespace(byte) ? 20 : position
                let targetEnd = ASCII.isTargetChar(byte) ? 20 : position
                bytes.withUnsafeBytes { raw in
                    for start in 0...min(position, 3) {
                        #expect(ASCII.endOfFieldValue(raw, from: start) == valueEnd, "\(byte) at \(position)")
                        #expect(ASCII.endOfTarget(raw, from: start) == targetEnd, "\(byte) at \(position)")
                    }
                }
            }
        }
    }

    @Test(arguments: ["te", "host", "expect", "upgrade", "connection", "keep-alive", "content-length", "transfer-encoding", "proxy-connection", "100-continue"])
    func comparesLiteralsIgnoringCase(name: String) {
        let variants = [name, name.uppercased(), String(name.enumerated().map { $0.offset % 2 == 0 ? Character($0.element.uppercased()) : $0.element })]
        for variant in variants {
            let bytes = Array(variant.utf8)
            bytes.withUnsafeBytes { raw in
                #expect(ASCII.equalsLowercase(raw, 0..<bytes.count, literal(name)))
                for position in bytes.indices {
                    var changed = bytes
                    changed[position] ^= 0x01
                    changed.withUnsafeBytes { #expect(!ASCII.equalsLowercase($0, 0..<changed.count, literal(name))) }
                }
            }
        }
        let longer = Array((name + "x").utf8)
        longer.withUnsafeBytes { #expect(!ASCII.equalsLowercase($0, 0..<longer.count, literal(name))) }
    }

    private func literal(_ name: String) -> StaticString {
        switch name {
        case "te": "te"
        case "host": "host"
        case "expect": "expect"
        case "upgrade": "upgrade"
        case "connection": "connection"
        case "keep-alive": "keep-alive"
        case "content-length": "content-length"
        case "transfer-encoding": "transfer-encoding"
        case "proxy-connection": "proxy-connection"
        default: "100-continue"
        }
    }

    @Test(arguments: [
        ("a.example:443", true, true),
        ("a.example", false, true),
        ("a.example", true, false),
        ("[::1]:8080", true, true),
        ("[::1]", false, true),
        ("[]:80", false, false),
        ("[::1]x", false, false),
        ("a:", false, true),
        ("a:", true, false),
        ("a:123456", false, false),
        ("a:1x", false, false),
        ("a%2", false, false),
        ("a%2F", false, true),
        ("u@a", false, false),
        ("", false, false),
    ])
    func validatesAuthorities(authority: String, requirePort: Bool, valid: Bool) {
        let bytes = Array(authority.utf8)
        let result = bytes.withUnsafeBytes {
            ASCII.isValidAuthority($0, 0..<bytes.count, requirePort: requirePort, allowEmpty: false)
        }
        #expect(result == valid)
    }

    @Test func splitsLists() {
        let bytes = Array(" a , b,,\tc\t,".utf8)
        var elements: [String] = []
        bytes.withUnsafeBytes { raw in
            ASCII.forEachListElement(raw, 0..<bytes.count) { range in
                elements.append(String(decoding: bytes[range], as: UTF8.self))
                return true
            }
        }
        #expect(elements == ["a", "b", "", "c", ""])
    }
}
