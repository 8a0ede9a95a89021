import HeddleCore
import HeddleHTTP1
import NIOCore
import NIOHPACK
import Testing

@testable import HeddleProxy

/// The translation `HTTP1ToHTTP2Bridge` does for an HTTP/1.1 exchange carried over HTTP/2 to
/// another Heddle proxy: request head → header block, chunked body → data and trailers,
/// response header block → HTTP/1.1 head.
@Suite("HTTP/1.1 over an HTTP/2 hop")
struct HTTP1ToHTTP2TranslationTests {
    static func pairs(_ headers: HPACKHeaders) -> [String] {
        headers.map { "\($0.name): \($0.value)" }
    }

    @Test func requestHeadBecomesPseudoHeadersWithoutHopByHopFields() throws {
        let head = try requestHead(
            "POST /api/items?x=1&y=2 HTTP/1.1\r\nHost: Shop.example:8080\r\nUser-Agent: curl/8\r\n"
                + "Connection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\nProxy-Connection: keep-alive\r\n"
                + "TE: trailers, deflate\r\nTransfer-Encoding: chunked\r\nCookie: a=1\r\nX-Multi: one\r\nX-Multi: two\r\n\r\n")
        let headers = HTTP1MessageTranslation.requestHeaders(head)
        #expect(Self.pairs(headers) == [
            ":method: POST", ":scheme: http", ":authority: Shop.example:8080", ":path: /api/items?x=1&y=2",
            "user-agent: curl/8", "te: trailers", "cookie: a=1", "x-multi: one", "x-multi: two",
        ])
    }

    @Test func teWithoutTrailersIsDroppedAndContentLengthKept() throws {
        let head = try requestHead("PUT /up HTTP/1.1\r\nHost: web\r\nTE: deflate\r\nContent-Length: 5\r\n\r\n")
        #expect(Self.pairs(HTTP1MessageTranslation.requestHeaders(head)) == [
            ":method: PUT", ":scheme: http", ":authority: web", ":path: /up", "content-length: 5",
        ])
    }

    @Test func absoluteFormTargetGivesAuthorityAndOriginPath() throws {
        let head = try requestHead("GET http://web:81/a/b?q=1 HTTP/1.1\r\nHost: ignored\r\n\r\n")
        let headers = HTTP1MessageTranslation.requestHeaders(head)
        #expect(headers.first(name: ":authority") == "web:81")
        #expect(headers.first(name: ":path") == "/a/b?q=1")
        #expect(headers.first(name: "host") == nil)

        let bare = try requestHead("GET http://web HTTP/1.1\r\nHost: web\r\n\r\n")
        #expect(HTTP1MessageTranslation.requestHeaders(bare).first(name: ":path") == "/")
        let options = try requestHead("OPTIONS * HTTP/1.1\r\nHost: web\r\n\r\n")
        #expect(HTTP1MessageTranslation.requestHeaders(options).first(name: ":path") == "*")
    }

    @Test func routeRewritesAndHeaderFiltersApply() throws {
        let head = try requestHead("GET /api/x?k=v HTTP/1.1\r\nHost: shop\r\nX-Internal: secret\r\nX-Env: dev\r\n\r\n")
        let modifier = HeaderModifier(
            set: [HeaderValue(name: "X-Env", value: "prod")], add: [HeaderValue(name: "X-Trace", value: "1")], remove: ["x-internal"])
        let headers = HTTP1MessageTranslation.requestHeaders(head, path: "/v2/x?k=v", authority: "shop.internal", modifier: modifier)
        #expect(Self.pairs(headers) == [
            ":method: GET", ":scheme: http", ":authority: shop.internal", ":path: /v2/x?k=v", "x-env: prod", "x-trace: 1",
        ])
    }

    @Test func responseHeadIsChunkedCountedOrCloseDelimited() {
        var block = HPACKHeaders()
        block.add(name: ":status", value: "200")
        block.add(name: "content-type", value: "text/plain")
        let chunked = HTTP1MessageTranslation.responseHead(block, status: 200, headRequest: false, endStream: false, chunkedAllowed: true)
        #expect(text(chunked.bytes) == "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n")
        #expect(chunked.body == .chunked)

        let closeDelimited = HTTP1MessageTranslation.responseHead(block, status: 200, headRequest: false, endStream: false, chunkedAllowed: false)
        #expect(text(closeDelimited.bytes) == "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n")
        #expect(closeDelimited.body == .untilClose)

        let empty = HTTP1MessageTranslation.responseHead(block, status: 200, headRequest: false, endStream: true, chunkedAllowed: true)
        #expect(text(empty.bytes) == "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 0\r\n\r\n")

        var counted = HPACKHeaders()
        counted.add(name: ":status", value: "502")
        counted.add(name: "content-length", value: "12")
        counted.add(name: "heddle-error", value: "upstream-reset")
        let error = HTTP1MessageTranslation.responseHead(counted, status: 502, headRequest: false, endStream: false, chunkedAllowed: true)
        #expect(text(error.bytes) == "HTTP/1.1 502 Bad Gateway\r\ncontent-length: 12\r\nheddle-error: upstream-reset\r\n\r\n")
        #expect(error.body == .counted)

        let head = HTTP1MessageTranslation.responseHead(block, status: 200, headRequest: true, endStream: false, chunkedAllowed: true)
        #expect(head.body == .none)
        #expect(!text(head.bytes).contains("transfer-encoding"))
        var noContent = HPACKHeaders()
        noContent.add(name: ":status", value: "204")
        #expect(HTTP1MessageTranslation.responseHead(noContent, status: 204, headRequest: false, endStream: false, chunkedAllowed: true).body == .none)
    }

    @Test func lastChunkCarriesTrailers() {
        var trailers = HPACKHeaders()
        trailers.add(name: "grpc-status", value: "0")
        trailers.add(name: "x-checksum", value: "abc")
        var buffer = ByteBuffer()
        HTTP1MessageTranslation.writeLastChunk(trailers: trailers, into: &buffer)
        #expect(text(buffer) == "0\r\ngrpc-status: 0\r\nx-checksum: abc\r\n\r\n")
    }

    /// The decoder gives the same data and trailers however the body is split.
    @Test func chunkedBodyDecodesAtEverySplit() {
        let body = "5;ext=\"a b\"\r\nhello\r\n0B\r\n, big world\r\n0\r\nX-Sum: 42 \r\nX-Other:v\r\n\r\n"
        let bytes = Array(body.utf8)
        for split in 0...bytes.count {
            var decoder = ChunkedBodyDecoder()
            var data = ""
            var ended = false
            for part in [bytes[..<split], bytes[split...]] where !part.isEmpty {
                ended = decoder.decode(ByteBuffer(bytes: part)) { data += String(buffer: $0) }
            }
            #expect(ended, "split at \(split)")
            #expect(data == "hello, big world", "split at \(split)")
            #expect(decoder.trailers.map { "\($0.name)=\($0.value)" } == ["x-sum=42", "x-other=v"], "split at \(split)")
        }
        var plain = ChunkedBodyDecoder()
        #expect(plain.decode(ByteBuffer(string: "3\r\nabc\r\n0\r\n\r\n")) { _ in })
        #expect(plain.trailers.isEmpty)
    }
}
