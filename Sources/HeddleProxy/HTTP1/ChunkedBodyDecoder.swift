import NIOCore

/// Takes chunk data and trailers out of a chunked body (RFC 9112 §7.1) whose framing the
/// client connection's `ChunkedFramer` has already validated, so it only has to find the
/// pieces: sizes, data, and the trailer lines at the end.
struct ChunkedBodyDecoder {
    private enum State {
        case size
        case sizeExtension
        case data
        case dataCR
        case dataLF
        case trailerLine
        case done
    }

    private var state = State.size
    private var remaining: UInt64 = 0
    private var line: [UInt8] = []
    /// The trailer fields, names lowercased, once the body has ended.
    private(set) var trailers: [(name: String, value: String)] = []

    /// Passes each run of chunk data in `buffer` to `data`; returns whether the body ended.
    mutating func decode(_ buffer: ByteBuffer, data: (ByteBuffer) -> Void) -> Bool {
        var buffer = buffer
        while buffer.readableBytes > 0 {
            switch state {
            case .data:
                let length = Int(min(UInt64(buffer.readableBytes), remaining))
                data(buffer.readSlice(length: length)!)
                remaining -= UInt64(length)
                if remaining == 0 { state = .dataCR }
            case .done:
                return true
            default:
                step(buffer.readInteger(as: UInt8.self)!)
            }
        }
        return state == .done
    }

    private mutating func step(_ byte: UInt8) {
        switch state {
        case .size:
            if let digit = Self.hexValue(byte) {
                remaining = remaining &* 16 &+ UInt64(digit)
            } else if byte == UInt8(ascii: "\n") {
                endSizeLine()
            } else {
                // CR, or the start of extensions: skipped up to the line's end.
                state = .sizeExtension
            }
        case .sizeExtension:
            if byte == UInt8(ascii: "\n") { endSizeLine() }
        case .dataCR:
            state = .dataLF
        case .dataLF:
            remaining = 0
            state = .size
        case .trailerLine:
            if byte != UInt8(ascii: "\n") {
                line.append(byte)
                return
            }
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            if line.isEmpty {
                state = .done
                return
            }
            if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
                let name = String(decoding: line[..<colon], as: UTF8.self).lowercased()
                let value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingOWS()
                trailers.append((name, value))
            }
            line.removeAll(keepingCapacity: true)
        case .data, .done:
            break
        }
    }

    private mutating func endSizeLine() {
        state = remaining == 0 ? .trailerLine : .data
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

private extension String {
    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
    func trimmingOWS() -> String {
        let isOWS: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        return String(drop(while: isOWS).reversed().drop(while: isOWS).reversed())
    }
}
