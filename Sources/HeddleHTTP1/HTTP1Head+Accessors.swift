import NIOCore

extension HTTP1Head {
    /// Requests: the method, such as `GET`.
    public var method: String { string(methodRange) }

    /// Requests: the request target as received.
    public var target: String { string(targetRange) }

    /// Requests in origin- or absolute-form: the path without the query.
    public var path: String { string(pathRange) }

    /// Requests in origin- or absolute-form with a `?`: the query after it.
    public var query: String? { queryRange.map(string) }

    /// Responses: the reason phrase.
    public var reason: String { string(reasonRange) }

    /// Requests: where the request is going (RFC 9112 §3.3): the target's authority in
    /// absolute- or authority-form (a proxy ignores Host then), otherwise the Host value.
    public var effectiveAuthorityRange: Range<Int>? { authorityRange ?? hostRange }

    /// Requests: `effectiveAuthorityRange` as a string, such as `example.com:8080`.
    public var host: String? { effectiveAuthorityRange.map(string) }

    /// The bytes of `range` decoded as UTF-8 (invalid sequences repaired); empty when `range`
    /// is not within the head.
    public func string(_ range: Range<Int>) -> String {
        bytes.getString(at: range.lowerBound, length: range.count) ?? ""
    }

    /// The bytes of `range` as a slice of the head; empty when `range` is not within the head.
    public func slice(_ range: Range<Int>) -> ByteBuffer {
        bytes.getSlice(at: range.lowerBound, length: range.count) ?? ByteBuffer()
    }

    /// Whether the bytes of `range` equal `lowercaseASCII` ignoring ASCII case, without
    /// allocating: `bytesEqual(field.name, lowercaseASCII: "x-route")`.
    public func bytesEqual(_ range: Range<Int>, lowercaseASCII: String) -> Bool {
        guard range.lowerBound >= 0, range.upperBound <= bytes.readableBytes else { return false }
        return bytes.withUnsafeReadableBytes { ASCII.equalsIgnoringCase($0, range, lowercaseASCII) }
    }

    /// The first field whose name equals `lowercaseName` ignoring case.
    public func field(named lowercaseName: String) -> HTTP1Field? {
        bytes.withUnsafeReadableBytes { head in
            fields.first { ASCII.equalsIgnoringCase(head, $0.name, lowercaseName) }
        }
    }

    /// The value of the first field whose name equals `lowercaseName` ignoring case.
    public func value(forLowercasedName lowercaseName: String) -> String? {
        field(named: lowercaseName).map { string($0.value) }
    }

    /// Whether `field` is hop-by-hop: a proxy drops it when it forwards the message
    /// (RFC 9110 §7.6.1).
    ///
    /// Hop-by-hop are Connection, Keep-Alive, Proxy-Connection, TE and Upgrade, and every field
    /// Connection names. Transfer-Encoding is hop-by-hop in RFC 9110 but not here: Heddle
    /// forwards a body's bytes unchanged, chunked encoding included, so the field that frames
    /// them must stay. For the same reason Content-Length and Transfer-Encoding — and Host,
    /// which routes the request — are never hop-by-hop even when Connection names them, which
    /// would otherwise let a client strip the framing of its own message. A proxy relaying an
    /// upgrade keeps Upgrade and Connection on purpose; that is the caller's choice. A field
    /// of another head is never hop-by-hop here.
    public func isHopByHop(_ field: HTTP1Field) -> Bool {
        let name = field.name
        guard name.upperBound <= bytes.readableBytes else { return false }
        return bytes.withUnsafeReadableBytes { head in
            switch name.count {
            case 2 where ASCII.equalsLowercase(head, name, "te"),
                 7 where ASCII.equalsLowercase(head, name, "upgrade"),
                 10 where ASCII.equalsLowercase(head, name, "connection"),
                 10 where ASCII.equalsLowercase(head, name, "keep-alive"),
                 16 where ASCII.equalsLowercase(head, name, "proxy-connection"):
                return true
            case 4 where ASCII.equalsLowercase(head, name, "host"),
                 14 where ASCII.equalsLowercase(head, name, "content-length"),
                 17 where ASCII.equalsLowercase(head, name, "transfer-encoding"):
                return false
            default:
                break
            }
            guard facts.hasExtraConnectionOptions else { return false }
            var named = false
            for connection in fields where ASCII.equalsLowercase(head, connection.name, "connection") {
                ASCII.forEachListElement(head, connection.value) { option in
                    named = Self.equalIgnoringCase(head, option, name)
                    return !named
                }
                if named { return true }
            }
            return false
        }
    }

    private static func equalIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ first: Range<Int>, _ second: Range<Int>) -> Bool {
        guard first.count == second.count else { return false }
        for offset in 0..<first.count
        where ASCII.lowercased(bytes[first.lowerBound + offset]) != ASCII.lowercased(bytes[second.lowerBound + offset]) {
            return false
        }
        return true
    }
}
