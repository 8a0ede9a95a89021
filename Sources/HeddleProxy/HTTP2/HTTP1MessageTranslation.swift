import NIOHPACK
import NIOHTTP1

/// Turns an HTTP/2 stream's header blocks into HTTP/1.1 messages and back, for a backend that
/// speaks HTTP/1.1 (RFC 9113 §8.2.2, §8.2.3): `:authority` becomes `Host`, split `cookie`
/// fields are joined, connection-specific fields are dropped, and the request's framing is
/// chosen from what the HTTP/2 stream says about its body.
enum HTTP1MessageTranslation {
    /// Fields that belong to one HTTP/1 connection and have no meaning in HTTP/2.
    static let connectionSpecific: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "http2-settings",
    ]

    /// The HTTP/1.1 request head for an HTTP/2 request header block. `endStream` says the
    /// request has no body; otherwise the body is sent with its `content-length` if the client
    /// gave one, else chunked.
    static func requestHead(_ headers: HPACKHeaders, endStream: Bool) -> HTTPRequestHead {
        let method = HTTPMethod(rawValue: headers.first(name: ":method") ?? "GET")
        var fields = HTTPHeaders()
        fields.reserveCapacity(headers.count + 1)
        if let authority = headers.first(name: ":authority") ?? headers.first(name: "host") {
            fields.add(name: "host", value: authority)
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
            fields.add(name: name, value: value)
        }
        if !cookies.isEmpty {
            fields.add(name: "cookie", value: cookies.joined(separator: "; "))
        }
        if endStream {
            if !hasContentLength, [.POST, .PUT, .PATCH].contains(method) {
                fields.add(name: "content-length", value: "0")
            }
        } else if !hasContentLength {
            fields.add(name: "transfer-encoding", value: "chunked")
        }
        return HTTPRequestHead(version: .http1_1, method: method, uri: headers.first(name: ":path") ?? "/", headers: fields)
    }

    /// The HTTP/2 response header block for an HTTP/1.1 response head.
    static func responseHeaders(_ head: HTTPResponseHead) -> HPACKHeaders {
        var out = HPACKHeaders()
        out.reserveCapacity(head.headers.count + 1)
        out.add(name: ":status", value: String(head.status.code))
        let named = connectionNamed(head.headers)
        for (name, value) in head.headers {
            let lowered = name.lowercased()
            if connectionSpecific.contains(lowered) || named.contains(lowered) { continue }
            out.add(name: lowered, value: value)
        }
        return out
    }

    /// HTTP/1 chunked trailers as an HTTP/2 trailer block.
    static func trailers(_ headers: HTTPHeaders) -> HPACKHeaders {
        var out = HPACKHeaders()
        for (name, value) in headers {
            let lowered = name.lowercased()
            if connectionSpecific.contains(lowered) || lowered == "content-length" { continue }
            out.add(name: lowered, value: value)
        }
        return out
    }

    /// An HTTP/2 trailer block as HTTP/1 chunked trailers.
    static func trailers(_ headers: HPACKHeaders) -> HTTPHeaders {
        var out = HTTPHeaders()
        for (name, value, _) in headers where !name.hasPrefix(":") {
            out.add(name: name, value: value)
        }
        return out
    }

    /// Field names listed in `Connection`, lowercased: hop-by-hop for this message.
    private static func connectionNamed(_ headers: HTTPHeaders) -> Set<String> {
        var names: Set<String> = []
        for value in headers["connection"] {
            for token in value.split(separator: ",") {
                let trimmed = token.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed()
                names.insert(String(trimmed).lowercased())
            }
        }
        return names
    }
}
