import HeddleCore
import HeddleHTTP1
import HeddlePolicy
import NIOCore
import NIOHPACK
import NIOHTTP2

/// A copy of a complete request for a mirror service, as the handler that proxied it kept it,
/// and its encodings for the mirror's protocol. As Envoy's shadows, the copy's host gets a
/// `-shadow` suffix (`web` → `web-shadow`, `web:8080` → `web-shadow:8080`); hop-by-hop fields
/// are dropped, and `heddle-mirror: 1` marks it, so the mirror can tell copies from live
/// traffic.
enum MirrorRequest {
    /// From an HTTP/1 client: the head as received, the rule it matched (whose rewrites and
    /// request header filter apply, as to the live request), and the body bytes as framed on the
    /// client connection (chunked or counted), nil for none.
    case http1(head: HTTP1Head, match: RouteMatch, body: ByteBuffer?)
    /// From an HTTP/2 stream: the frames sent upstream, the header block first.
    case http2(frames: [HTTP2Frame.FramePayload])

    static let markerName = "heddle-mirror"

    /// Whether the request is a HEAD, whose response has no body.
    var isHead: Bool {
        switch self {
        case .http1(let head, _, _): head.methodKind == .head
        case .http2(let frames): frames.first.flatMap(Self.headerBlock)?.first(name: ":method") == "HEAD"
        }
    }

    /// The copy as HTTP/1.1 bytes, head and body; nil when it cannot be written (a host the
    /// head writer refuses, a header block without one).
    func http1Bytes() -> ByteBuffer? {
        switch self {
        case .http1(let head, let match, let body):
            guard var bytes = Self.http1Head(head, match: match) else { return nil }
            if var body { bytes.writeBuffer(&body) }
            return bytes
        case .http2(let frames):
            return Self.http1Message(frames)
        }
    }

    /// The copy as HTTP/2 frames, the header block first; nil when it has none.
    func http2Frames() -> [HTTP2Frame.FramePayload]? {
        switch self {
        case .http1(let head, let match, let body):
            return Self.http2Frames(head, match: match, body: body)
        case .http2(let frames):
            guard let first = frames.first, let headers = Self.headerBlock(first) else { return nil }
            var out = HPACKHeaders()
            out.reserveCapacity(headers.count + 1)
            for (name, value, indexing) in headers where name != Self.markerName {
                let shadowed = name == ":authority" || name == "host"
                out.add(name: name, value: shadowed ? Self.shadowHost(value) : value, indexing: indexing)
            }
            out.add(name: Self.markerName, value: "1")
            let endStream = if case .headers(let block) = first { block.endStream } else { false }
            return [.headers(.init(headers: out, endStream: endStream))] + frames.dropFirst()
        }
    }

    /// `authority` with `-shadow` after its host name, before any port. An IPv6 literal, which
    /// cannot take a suffix, is left as it is.
    static func shadowHost(_ authority: String) -> String {
        if authority.hasPrefix("[") || authority.isEmpty { return authority }
        guard let colon = authority.lastIndex(of: ":") else { return authority + "-shadow" }
        return authority[..<colon] + "-shadow" + authority[colon...]
    }

    // MARK: HTTP/1 to HTTP/1

    /// The head the mirror gets for an HTTP/1 request: the live request's rewrites and header
    /// filter, the shadowed host, no hop-by-hop fields, no `Expect` (the body follows at once),
    /// and the marker.
    static func http1Head(_ head: HTTP1Head, match: RouteMatch) -> ByteBuffer? {
        let rule = match.rule
        let target: HTTP1HeadWriter.Target
        if let newPath = match.rewrittenPath(Substring(head.pathRange.isEmpty ? "/" : head.path)) {
            target = .replaced(.init(head.query.map { newPath + "?" + $0 } ?? newPath))
        } else {
            target = head.targetForm == .absolute ? .originForm : .original
        }
        let host = (rule.rewrite?.hostname ?? head.host).map { HTTP1HeadWriter.Text(shadowHost($0)) }
        let modifier = rule.requestHeaders
        let removed = Set((modifier?.remove ?? []) + (modifier?.set.map { $0.name.lowercased() } ?? []))
        var extra: [HTTP1HeadWriter.Field] = []
        for value in (modifier?.set ?? []) + (modifier?.add ?? []) {
            extra.append(.init(name: .init(value.name), value: .init(value.value)))
        }
        extra.append(.init(name: .init(markerName), value: "1"))
        var buffer = UpstreamRequestHead.allocator.buffer(capacity: head.bytes.readableBytes + 64)
        do {
            try HTTP1HeadWriter.writeRequestHead(
                head, target: target, host: host,
                removingFieldsWhere: { field in
                    head.isHopByHop(field) || head.bytesEqual(field.name, lowercaseASCII: markerName)
                        || head.bytesEqual(field.name, lowercaseASCII: "expect")
                        || (!removed.isEmpty && removed.contains(head.string(field.name).lowercased()))
                },
                appending: extra, into: &buffer)
        } catch {
            return nil
        }
        return buffer
    }

    // MARK: HTTP/1 to HTTP/2

    /// An HTTP/1 request as HTTP/2 frames: the header block (RFC 9113 §8.3.1, as the HTTP/1 to
    /// HTTP/2 bridge makes it), then the body de-chunked, with chunked trailers as a trailer block.
    private static func http2Frames(_ head: HTTP1Head, match: RouteMatch, body: ByteBuffer?) -> [HTTP2Frame.FramePayload] {
        let rule = match.rule
        let path = match.rewrittenPath(Substring(head.pathRange.isEmpty ? "/" : head.path)).map { newPath in
            head.query.map { newPath + "?" + $0 } ?? newPath
        }
        var headers = HTTP1MessageTranslation.requestHeaders(
            head, path: path, authority: (rule.rewrite?.hostname ?? head.host).map(shadowHost), modifier: rule.requestHeaders)
        headers.remove(name: markerName)
        headers.remove(name: "expect")
        headers.add(name: markerName, value: "1")
        guard let body, body.readableBytes > 0 else {
            return [.headers(.init(headers: headers, endStream: true))]
        }
        var frames: [HTTP2Frame.FramePayload] = [.headers(.init(headers: headers, endStream: false))]
        guard head.bodyFraming == .chunked else {
            frames.append(.data(.init(data: .byteBuffer(body), endStream: true)))
            return frames
        }
        var decoder = ChunkedBodyDecoder()
        _ = decoder.decode(body) { piece in
            frames.append(.data(.init(data: .byteBuffer(piece), endStream: false)))
        }
        if decoder.trailers.isEmpty {
            frames.append(.data(.init(data: .byteBuffer(ByteBuffer()), endStream: true)))
        } else {
            frames.append(.headers(.init(headers: HTTP1MessageTranslation.trailerBlock(decoder.trailers), endStream: true)))
        }
        return frames
    }

    // MARK: HTTP/2 to HTTP/1

    /// An HTTP/2 request as an HTTP/1.1 message (RFC 9113 §8.2.2): `:authority` becomes the
    /// shadowed `Host`, split `cookie` fields are joined, connection-specific fields dropped,
    /// and the body, whole, is counted with a `Content-Length`. Request trailers are dropped.
    /// Fields that could not be written safely are left out.
    private static func http1Message(_ frames: [HTTP2Frame.FramePayload]) -> ByteBuffer? {
        guard let first = frames.first, let headers = headerBlock(first) else { return nil }
        let method = headers.first(name: ":method") ?? "GET"
        let path = headers.first(name: ":path") ?? "/"
        guard isToken(method), !path.isEmpty, path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        var bodyLength = 0
        for frame in frames.dropFirst() {
            if case .data(let data) = frame, case .byteBuffer(let buffer) = data.data { bodyLength += buffer.readableBytes }
        }
        var out = UpstreamRequestHead.allocator.buffer(capacity: 256 + bodyLength)
        out.writeString("\(method) \(path) HTTP/1.1\r\n")
        if let authority = headers.first(name: ":authority") ?? headers.first(name: "host"), isFieldValue(authority) {
            HTTP1MessageTranslation.writeField("host", shadowHost(authority), into: &out)
        }
        var cookies: [String] = []
        for (name, value, _) in headers {
            if name.hasPrefix(":") || name == "host" || name == "content-length" || name == markerName
                || HTTP1MessageTranslation.connectionSpecific.contains(name) || !isToken(name) || !isFieldValue(value) {
                continue
            }
            if name == "cookie" {
                cookies.append(value)
            } else {
                HTTP1MessageTranslation.writeField(name, value, into: &out)
            }
        }
        if !cookies.isEmpty { HTTP1MessageTranslation.writeField("cookie", cookies.joined(separator: "; "), into: &out) }
        if bodyLength > 0 || ["POST", "PUT", "PATCH"].contains(method) {
            HTTP1MessageTranslation.writeField("content-length", String(bodyLength), into: &out)
        }
        HTTP1MessageTranslation.writeField(markerName, "1", into: &out)
        out.writeStaticString("\r\n")
        for frame in frames.dropFirst() {
            if case .data(let data) = frame, case .byteBuffer(let buffer) = data.data { out.writeImmutableBuffer(buffer) }
        }
        return out
    }

    private static func headerBlock(_ frame: HTTP2Frame.FramePayload) -> HPACKHeaders? {
        if case .headers(let block) = frame { block.headers } else { nil }
    }

    /// An HTTP token (RFC 9110 §5.6.2): a method or a field name.
    private static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
            default: "!#$%&'*+-.^_`|~".utf8.contains(byte)
            }
        }
    }

    /// A field value without control characters (a CR or LF would end the line).
    private static func isFieldValue(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x7F || $0 == 0x09 }
    }
}

extension MirrorRequest {
    /// The ring-hash key of the request for `service`'s balancer, when it hashes.
    func hashKey(for service: ResolvedService) -> UInt64? {
        guard service.spec.loadBalancer.hashKey != nil else { return nil }
        switch self {
        case .http1(let head, _, _):
            return LoopContext.hashKey(for: service, request: HTTP1RouteRequest(head: head))
        case .http2(let frames):
            guard let headers = frames.first.flatMap(Self.headerBlock) else { return nil }
            return LoopContext.hashKey(for: service, request: HTTP2RouteRequest(headers: headers))
        }
    }
}
