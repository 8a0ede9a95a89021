import HeddleHTTP1
import NIOCore
import NIOHPACK

/// Turns an HTTP/2 stream's header blocks into HTTP/1.1 messages and back, for a backend that
/// speaks HTTP/1.1 (RFC 9113 §8.2.2, §8.2.3): `:authority` becomes `Host`, split `cookie`
/// fields are joined, connection-specific fields are dropped, and the request's framing is
/// chosen from what the HTTP/2 stream says about its body.
enum HTTP1MessageTranslation {
    /// Fields that belong to one HTTP/1 connection and have no meaning in HTTP/2.
    static let connectionSpecific: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "http2-settings",
    ]

    /// The HTTP/1.1 request head for an HTTP/2 request header block, written as bytes, and
    /// whether its body is chunked. `endStream` says the request has no body; otherwise the
    /// body is sent with its `content-length` if the client gave one, else chunked. Field
    /// names and values come validated by the HTTP/2 codec; the method and path, which the
    /// request line carries bare, are checked here (nil: they cannot be written safely).
    static func writeRequestHead(_ headers: HPACKHeaders, endStream: Bool) -> (bytes: ByteBuffer, chunked: Bool)? {
        let method = headers.first(name: ":method") ?? "GET"
        let path = headers.first(name: ":path") ?? "/"
        guard isRequestLineToken(method), isRequestLineToken(path) else { return nil }
        var bytes = UpstreamRequestHead.allocator.buffer(capacity: 256)
        bytes.writeString(method)
        bytes.writeStaticString(" ")
        bytes.writeString(path)
        bytes.writeStaticString(" HTTP/1.1\r\n")
        if let authority = headers.first(name: ":authority") ?? headers.first(name: "host") {
            writeField("host", authority, into: &bytes)
        }
        var cookies: [String] = []
        var hasContentLength = false
        for (name, value, _) in headers {
            if name.hasPrefix(":") || name == "host" || connectionSpecific.contains(name) { continue }
            if name == "cookie" {
                cookies.append(value)
                continue
            }
            if name == "content-length" { hasContentLength = true }
            writeField(name, value, into: &bytes)
        }
        if !cookies.isEmpty {
            writeField("cookie", cookies.joined(separator: "; "), into: &bytes)
        }
        var chunked = false
        if endStream {
            if !hasContentLength, method == "POST" || method == "PUT" || method == "PATCH" {
                bytes.writeStaticString("content-length: 0\r\n")
            }
        } else if !hasContentLength {
            bytes.writeStaticString("transfer-encoding: chunked\r\n")
            chunked = true
        }
        bytes.writeStaticString("\r\n")
        return (bytes, chunked)
    }

    /// A method or request target with no space, control character or DEL: one token of the
    /// request line.
    private static func isRequestLineToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 > 0x20 && $0 != 0x7F }
    }

    /// One `name: value` field line.
    static func writeField(_ name: String, _ value: String, into bytes: inout ByteBuffer) {
        bytes.writeString(name)
        bytes.writeStaticString(": ")
        bytes.writeString(value)
        bytes.writeStaticString("\r\n")
    }

    /// `data` as a chunk of a chunked body (nothing when it is empty), then the last chunk
    /// when `endStream` (no trailers).
    static func writeChunk(_ data: ByteBuffer, endStream: Bool, into bytes: inout ByteBuffer) {
        if data.readableBytes > 0 {
            bytes.writeString(String(data.readableBytes, radix: 16))
            bytes.writeStaticString("\r\n")
            bytes.writeImmutableBuffer(data)
            bytes.writeStaticString("\r\n")
        }
        if endStream { bytes.writeStaticString("0\r\n\r\n") }
    }

    /// The HTTP/2 response header block for an HTTP/1.1 response head: `:status`, then the
    /// fields with names lowercased, less the connection-specific ones and those `Connection`
    /// names.
    static func responseHeaders(_ head: HTTP1Head) -> HPACKHeaders {
        var out = HPACKHeaders()
        out.reserveCapacity(head.fields.count + 1)
        out.add(name: ":status", value: String(head.statusCode))
        for field in head.fields where !head.isHopByHop(field) {
            let name = head.string(field.name).lowercased()
            if connectionSpecific.contains(name) { continue }
            out.add(name: name, value: head.string(field.value))
        }
        return out
    }
}
