import HeddleCore
import HeddleHTTP1
import HeddlePolicy
import HeddleTracing
import Logging
import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2

/// Carries one HTTP/1.1 exchange of an `HTTP1ProxyHandler` over a stream on a pooled HTTP/2
/// connection, for a backend whose endpoints speak h2c (another Heddle proxy's inbound
/// listener, which restores HTTP/1.1 for its app).
///
/// To the HTTP/1 handler it looks like an upstream connection: it takes the request's body
/// bytes as framed on the client connection (chunked or counted) and hands back the response as
/// HTTP/1.1 bytes, which the handler frames, rewrites and forwards like any other, so
/// keep-alive, pipelining, response filters, timeouts and metrics work unchanged. On the
/// HTTP/2 side the request head becomes a header block, the body DATA frames (de-chunked, with
/// chunked trailers as a trailer block), and the response header block an HTTP/1.1 head whose
/// body is chunked, counted or close-delimited.
final class HTTP1ToHTTP2Bridge: HTTP2UpstreamStreamOwner {
    /// How the request body arrives from the client.
    private enum RequestBody {
        case counted(remaining: UInt64)
        case chunked
    }

    /// How the response body is written to the HTTP/1 side.
    enum ResponseBody: Equatable {
        /// No response head yet.
        case awaitingHead
        /// The response has no body (HEAD, 1xx, 204, 304): DATA is dropped.
        case none
        /// The head carries `content-length`: DATA passes as it is.
        case counted
        /// `Transfer-Encoding: chunked` was added: DATA becomes chunks, trailers chunked trailers.
        case chunked
        /// Neither: the body ends when the exchange does (the client connection is closed).
        case untilClose
    }

    /// The exchange using this stream; nil once it is over.
    private var owner: HTTP1ProxyHandler?
    private let endpointKey: String
    private var stream: HTTP2UpstreamStreamHandler?
    /// Frames queued before the stream was open (bounded: client reads pause until it is).
    private var waiting: [HTTP2Frame.FramePayload] = []
    private var abandoned = false
    private var readsPaused = false

    private var requestBody: RequestBody
    private var dechunker = ChunkedBodyDecoder()
    private var requestEnded = false
    private let headRequest: Bool
    private let chunkedResponseAllowed: Bool
    private var responseBody = ResponseBody.awaitingHead
    private var responseEnded = false
    /// Response bytes for the HTTP/1 side, handed over once per read.
    private var outgoing: ByteBuffer

    /// `deadline`: the `heddle-deadline` value (time left, in milliseconds) the next proxy
    /// enforces and passes on. `traceParent`: this hop's `traceparent`, in place of the one
    /// received, when the proxy traces.
    init(
        owner: HTTP1ProxyHandler, head: HTTP1Head, match: RouteMatch, endpoint: ResolvedEndpoint, keepAlive: Bool, deadline: String?,
        clientIdentity: ClientIdentityField = .untouched, traceParent: String? = nil
    ) {
        self.owner = owner
        endpointKey = endpoint.key
        headRequest = head.methodKind == .head
        chunkedResponseAllowed = head.version == .http1_1 && keepAlive
        outgoing = UpstreamRequestHead.allocator.buffer(capacity: 0)
        let path = match.rewrittenPath(Substring(head.pathRange.isEmpty ? "/" : head.path)).map { newPath in
            head.query.map { newPath + "?" + $0 } ?? newPath
        }
        var headers = HTTP1MessageTranslation.requestHeaders(
            head, path: path, authority: match.rule.rewrite?.hostname, modifier: match.rule.requestHeaders)
        if let deadline { headers.replaceOrAdd(name: Deadline.heddleDeadlineHeader, value: deadline) }
        clientIdentity.apply(to: &headers)
        if let traceParent { headers.replaceOrAdd(name: TraceHeaders.traceParent, value: traceParent) }
        switch head.bodyFraming {
        case .none, .untilClose:
            requestBody = .counted(remaining: 0)
        case .contentLength(let length):
            requestBody = .counted(remaining: length)
        case .chunked:
            requestBody = .chunked
        }
        let noBody = if case .counted(0) = requestBody { true } else { false }
        requestEnded = noBody
        waiting.append(.headers(.init(headers: headers, endStream: noBody)))
    }

    /// Opens the stream on this loop's HTTP/2 pool (the owner pauses client reads meanwhile, as
    /// for an HTTP/1 connection being made); a failure to open is reported as the exchange's.
    func open(pool: HTTP2ConnectionPool, endpoint: ResolvedEndpoint, http: HTTPSettings, eventLoop: any EventLoop, logger: Logger) {
        pool.openStream(to: endpoint, owner: self, http: http, eventLoop: eventLoop, logger: logger) { [self] result in
            switch result {
            case .success(let stream):
                attach(stream)
            case .failure(let failure):
                guard !abandoned, let owner else { return }
                cancel()
                owner.bridgeEnded(self, failure: failure)
            }
        }
    }

    private func attach(_ stream: HTTP2UpstreamStreamHandler) {
        guard !abandoned, let owner else {
            stream.cancel()
            return
        }
        self.stream = stream
        let frames = waiting
        waiting = []
        for frame in frames { send(frame) }
        stream.flush()
        if readsPaused { stream.setReadsPaused(true) }
        owner.bridgeOpened(self, writable: stream.isWritable)
    }

    // MARK: Request (called by the HTTP/1 handler)

    /// Body bytes as framed on the client connection (already validated by its framer).
    func sendRequestBytes(_ bytes: ByteBuffer) {
        guard !requestEnded else { return }
        switch requestBody {
        case .counted(let remaining):
            let taken = min(UInt64(bytes.readableBytes), remaining)
            requestBody = .counted(remaining: remaining - taken)
            requestEnded = taken == remaining
            queue(.data(.init(data: .byteBuffer(bytes), endStream: requestEnded)))
        case .chunked:
            var decoder = dechunker
            let ended = decoder.decode(bytes) { piece in
                queue(.data(.init(data: .byteBuffer(piece), endStream: false)))
            }
            dechunker = decoder
            guard ended else { return }
            requestEnded = true
            if decoder.trailers.isEmpty {
                queue(.data(.init(data: .byteBuffer(ByteBuffer()), endStream: true)))
            } else {
                queue(.headers(.init(headers: HTTP1MessageTranslation.trailerBlock(decoder.trailers), endStream: true)))
            }
        }
    }

    private func queue(_ frame: HTTP2Frame.FramePayload) {
        if stream == nil {
            waiting.append(frame)
        } else {
            send(frame)
        }
    }

    private func send(_ frame: HTTP2Frame.FramePayload) {
        switch frame {
        case .headers(let headers): stream?.sendHeaders(headers.headers, endStream: headers.endStream)
        case .data(let data):
            if case .byteBuffer(let buffer) = data.data { stream?.sendData(buffer, endStream: data.endStream) }
        default: break
        }
    }

    func flush() {
        stream?.flush()
    }

    /// Stops or resumes reading the response (backpressure from a slow client).
    func setReadsPaused(_ paused: Bool) {
        readsPaused = paused
        stream?.setReadsPaused(paused)
    }

    /// The exchange is abandoned (a proxy error, a timeout, the client gone): the stream is reset.
    func cancel() {
        owner = nil
        abandoned = true
        stream?.cancel()
        stream = nil
    }

    /// The exchange is over on the HTTP/1 side: the stream is released, or reset if either
    /// direction is unfinished (the app answered before reading the whole request).
    func finish() {
        guard requestEnded, responseEnded, let stream else {
            cancel()
            return
        }
        owner = nil
        abandoned = true
        self.stream = nil
        stream.finish()
    }

    // MARK: Response (called by the HTTP/2 stream)

    func upstreamHeaders(_ headers: HPACKHeaders, endStream: Bool) {
        guard owner != nil, !responseEnded else { return }
        if responseBody == .awaitingHead {
            let status = Int(headers.first(name: ":status") ?? "") ?? 0
            let head = HTTP1MessageTranslation.responseHead(
                headers, status: status, headRequest: headRequest, endStream: endStream, chunkedAllowed: chunkedResponseAllowed)
            outgoing.writeImmutableBuffer(head.bytes)
            if status >= 200 || endStream { responseBody = head.body }
        } else if responseBody == .chunked {
            HTTP1MessageTranslation.writeLastChunk(trailers: headers, into: &outgoing)
        }
        if endStream { endResponse() }
    }

    func upstreamData(_ data: ByteBuffer, endStream: Bool) {
        guard owner != nil, !responseEnded else { return }
        switch responseBody {
        case .awaitingHead:
            fail(ProxyFailure(.upstreamProtocolError, "\(endpointKey) sent DATA before a response head"))
            return
        case .none:
            break
        case .counted, .untilClose:
            outgoing.writeImmutableBuffer(data)
        case .chunked:
            HTTP1MessageTranslation.writeChunk(data, endStream: endStream, into: &outgoing)
        }
        if endStream { endResponse() }
    }

    func upstreamReadComplete() {
        deliver()
    }

    func upstreamWritabilityChanged(_ writable: Bool) {
        owner?.upstreamWritabilityChanged(writable)
    }

    func upstreamReset(_ code: HTTP2ErrorCode) {
        stream = nil
        fail(ProxyFailure(.upstreamReset, "\(endpointKey) reset the stream (\(code))"))
    }

    func upstreamClosed() {
        stream = nil
        fail(ProxyFailure(.upstreamReset, "\(endpointKey) closed the stream before the response ended"))
    }

    func upstreamFailed(_ failure: ProxyFailure) {
        stream = nil
        fail(failure)
    }

    /// Hands the response bytes gathered so far to the HTTP/1 side.
    private func deliver() {
        guard outgoing.readableBytes > 0, let owner else { return }
        let bytes = outgoing
        outgoing = UpstreamRequestHead.allocator.buffer(capacity: 0)
        owner.upstreamRead(bytes)
    }

    /// The response ended: its bytes go out at once; if the HTTP/1 side's framing has not ended
    /// the exchange by then (a close-delimited body, or a short one), the end is reported.
    private func endResponse() {
        responseEnded = true
        deliver()
        guard let owner else { return }
        finish()
        owner.bridgeEnded(self, failure: nil)
    }

    private func fail(_ failure: ProxyFailure) {
        deliver()
        guard let owner else { return }
        cancel()
        owner.bridgeEnded(self, failure: failure)
    }
}

// MARK: - Translation

extension HTTP1MessageTranslation {
    /// The HTTP/2 request header block for an HTTP/1.1 request head (RFC 9113 §8.3.1):
    /// `:method`, `:scheme http`, `:authority` (the absolute-form target's authority, else
    /// `Host`; or `authority` when a route rewrites it), `:path` (`path` when a route rewrites
    /// it, else the target in origin form). `Host`, hop-by-hop and connection-specific fields
    /// are dropped (`te: trailers` is kept), names are lowercased, and `modifier` applies.
    static func requestHeaders(_ head: HTTP1Head, path: String? = nil, authority: String? = nil, modifier: HeaderModifier? = nil) -> HPACKHeaders {
        var out = HPACKHeaders()
        out.reserveCapacity(head.fields.count + 4)
        out.add(name: ":method", value: head.method)
        out.add(name: ":scheme", value: "http")
        if let authority = authority ?? head.host, !authority.isEmpty {
            out.add(name: ":authority", value: authority)
        }
        let target: String = if let path {
            path
        } else {
            switch head.targetForm {
            case .origin: head.target
            case .asterisk: "*"
            case .absolute, .authority:
                (head.pathRange.isEmpty ? "/" : head.path) + (head.query.map { "?" + $0 } ?? "")
            }
        }
        out.add(name: ":path", value: target)
        let removed = Set((modifier?.remove ?? []) + (modifier?.set.map { $0.name.lowercased() } ?? []))
        for field in head.fields {
            let name = head.string(field.name).lowercased()
            if name == "te" {
                if head.string(field.value).lowercased().contains("trailers") { out.add(name: "te", value: "trailers") }
                continue
            }
            if name == "host" || connectionSpecific.contains(name) || head.isHopByHop(field) || removed.contains(name) {
                continue
            }
            out.add(name: name, value: head.string(field.value))
        }
        for value in (modifier?.set ?? []) + (modifier?.add ?? []) {
            out.add(name: value.name.lowercased(), value: value.value)
        }
        return out
    }

    /// Chunked trailers as an HTTP/2 trailer block: names lowercased, fields that frame or
    /// route a message dropped.
    static func trailerBlock(_ fields: [(name: String, value: String)]) -> HPACKHeaders {
        var out = HPACKHeaders()
        for (name, value) in fields where !connectionSpecific.contains(name) && name != "content-length" && name != "host" {
            out.add(name: name, value: value)
        }
        return out
    }

    /// The HTTP/1.1 response head for an HTTP/2 response header block, and how its body is to
    /// be written. A response that may have a body and has no `content-length` is chunked when
    /// `chunkedAllowed` (an HTTP/1.1 keep-alive client), else close-delimited; one that ends
    /// with its header block gets `content-length: 0`.
    static func responseHead(
        _ headers: HPACKHeaders, status: Int, headRequest: Bool, endStream: Bool, chunkedAllowed: Bool
    ) -> (bytes: ByteBuffer, body: HTTP1ToHTTP2Bridge.ResponseBody) {
        var bytes = UpstreamRequestHead.allocator.buffer(capacity: 256)
        bytes.writeString("HTTP/1.1 \(status) \(HTTPResponseStatus(statusCode: status).reasonPhrase)\r\n")
        var hasContentLength = false
        for (name, value, _) in headers {
            if name.hasPrefix(":") || connectionSpecific.contains(name) { continue }
            if name == "content-length" { hasContentLength = true }
            writeField(name, value, into: &bytes)
        }
        let body: HTTP1ToHTTP2Bridge.ResponseBody
        if headRequest || status < 200 || status == 204 || status == 304 {
            body = .none
        } else if hasContentLength {
            body = .counted
        } else if endStream {
            bytes.writeStaticString("content-length: 0\r\n")
            body = .counted
        } else if chunkedAllowed {
            bytes.writeStaticString("transfer-encoding: chunked\r\n")
            body = .chunked
        } else {
            body = .untilClose
        }
        bytes.writeStaticString("\r\n")
        return (bytes, body)
    }

    /// The last chunk of a chunked body with an HTTP/2 trailer block as its trailers.
    static func writeLastChunk(trailers: HPACKHeaders, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("0\r\n")
        for (name, value, _) in trailers where !name.hasPrefix(":") && !connectionSpecific.contains(name) && name != "content-length" {
            writeField(name, value, into: &buffer)
        }
        buffer.writeStaticString("\r\n")
    }
}
