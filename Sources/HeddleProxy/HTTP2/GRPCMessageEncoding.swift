/// The `grpc-message` header's encoding (gRPC over HTTP/2, "Responses"): the UTF-8 bytes of
/// the message, with every byte outside printable ASCII (0x20–0x7E) and `%` itself written as
/// `%XX` in uppercase hex.
enum GRPCMessageEncoding {
    /// Messages are cut to this many bytes before encoding, so a header stays small.
    static let maximumBytes = 512

    static func percentEncode(_ message: String) -> String {
        var encoded: [UInt8] = []
        encoded.reserveCapacity(min(message.utf8.count, maximumBytes) + 16)
        for byte in message.utf8.prefix(maximumBytes) {
            if byte >= 0x20, byte <= 0x7E, byte != UInt8(ascii: "%") {
                encoded.append(byte)
            } else {
                encoded.append(UInt8(ascii: "%"))
                encoded.append(hexDigit(byte >> 4))
                encoded.append(hexDigit(byte & 0x0F))
            }
        }
        return String(decoding: encoded, as: UTF8.self)
    }

    /// The message back from its encoding; a `%` not followed by two hex digits is kept as
    /// it is, as the specification asks of receivers.
    static func percentDecode(_ encoded: String) -> String {
        let bytes = Array(encoded.utf8)
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count,
               let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) {
                decoded.append(high << 4 | low)
                index += 3
            } else {
                decoded.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: decoded, as: UTF8.self)
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "A") + value - 10
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
