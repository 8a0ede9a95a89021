import HeddleCore
import HeddleHTTP1
import HeddlePolicy
import NIOCore
import NIOHPACK
import NIOHTTP2
import Testing

@testable import HeddleProxy

/// `MirrorRequest`: the copies mirror services get, over HTTP/1.1 and HTTP/2, from requests
/// received over either.
@Suite("Mirror requests")
struct MirrorRequestTests {
    /// `web`, and a route for `rw.test` that rewrites the prefix `/api` to `/v2`, the hostname to
    /// `internal.web`, and sets `x-env`.
    static let yaml = documents(
        serviceYAML("web"),
        routeYAML("rw", spec: """
              hostnames: [rw.test]
              rules:
                - matches:
                    - path:
                        type: PathPrefix
                        value: /api
                  filters:
                    - type: URLRewrite
                      urlRewrite:
                        hostname: internal.web
                        path:
                          type: ReplacePrefixMatch
                          replacePrefixMatch: /v2
                    - type: RequestHeaderModifier
                      requestHeaderModifier:
                        set: [{name: X-Env, value: prod}]
                  backendRefs:
                    - name: web
            """))

    let table: RouteTable

    init() throws {
        table = RouteTable(config: try loadConfig(Self.yaml), listener: "outbound")
    }

    func route(_ host: String, _ path: String = "/", sourceLocation: SourceLocation = #_sourceLocation) throws -> RouteMatch {
        try #require(table.match(TestRouteRequest(host, path)), "no route for \(host)\(path)", sourceLocation: sourceLocation)
    }

    static func headers(_ pairs: [(String, String)]) -> HPACKHeaders {
        HPACKHeaders(pairs)
    }

    static func payloadText(_ data: HTTP2Frame.FramePayload.Data) -> String? {
        if case .byteBuffer(let buffer) = data.data { String(buffer: buffer) } else { nil }
    }

    static func dataFrame(_ text: String, endStream: Bool) -> HTTP2Frame.FramePayload {
        .data(.init(data: .byteBuffer(ByteBuffer(string: text)), endStream: endStream))
    }

    @Test("The host gets '-shadow' before its port; an IPv6 literal is left alone", arguments: [
        ("web", "web-shadow"), ("web:8080", "web-shadow:8080"), ("10.0.0.1:80", "10.0.0.1-shadow:80"),
        ("[::1]:80", "[::1]:80"), ("", ""),
    ])
    func shadowHost(authority: String, expected: String) {
        #expect(MirrorRequest.shadowHost(authority) == expected)
    }

    @Test("HTTP/1 to HTTP/1: shadowed Host, hop-by-hop fields, Expect and a received marker dropped, the marker added")
    func http1Head() throws {
        let head = try requestHead(
            "POST /p?q HTTP/1.1\r\nHost: web\r\nConnection: keep-alive, x-hop\r\nx-hop: 1\r\nExpect: 100-continue\r\n"
                + "heddle-mirror: 0\r\nContent-Length: 5\r\nAccept: */*\r\n\r\n")
        let copy = MirrorRequest.http1(head: head, match: try route("web"), body: ByteBuffer(string: "hello"))
        let bytes = try #require(copy.http1Bytes())
        #expect(text(bytes) == "POST /p?q HTTP/1.1\r\nHost: web-shadow\r\nContent-Length: 5\r\nAccept: */*\r\nheddle-mirror: 1\r\n\r\nhello")
        #expect(!copy.isHead)
    }

    @Test("HTTP/1 to HTTP/1: the route's rewrites and header filter apply, as to the live request")
    func http1Rewrites() throws {
        let head = try requestHead("GET /api/users?id=7 HTTP/1.1\r\nHost: rw.test\r\nx-env: dev\r\n\r\n")
        let copy = MirrorRequest.http1(head: head, match: try route("rw.test", "/api/users"), body: nil)
        let out = try reparsedRequest(try #require(copy.http1Bytes()))
        #expect(out.target == "/v2/users?id=7")
        #expect(out.values("host") == ["internal.web-shadow"])
        #expect(out.values("x-env") == ["prod"])
        #expect(out.values("heddle-mirror") == ["1"])
    }

    @Test("HTTP/1 to HTTP/1: an absolute-form target becomes origin-form, its authority the shadowed Host")
    func http1AbsoluteForm() throws {
        let head = try requestHead("HEAD http://web:8080/p HTTP/1.1\r\nHost: elsewhere\r\n\r\n")
        let copy = MirrorRequest.http1(head: head, match: try route("web"), body: nil)
        #expect(text(try #require(copy.http1Bytes())) == "HEAD /p HTTP/1.1\r\nHost: web-shadow:8080\r\nheddle-mirror: 1\r\n\r\n")
        #expect(copy.isHead)
    }

    @Test("HTTP/1 to HTTP/2: a header block with the shadowed authority, the body de-chunked, chunked trailers as a trailer block")
    func http1ToHTTP2() throws {
        let head = try requestHead("POST /up HTTP/1.1\r\nHost: web\r\nTransfer-Encoding: chunked\r\nheddle-mirror: x\r\n\r\n")
        let body = ByteBuffer(string: "5\r\nhello\r\n1;ext=1\r\n!\r\n0\r\nx-sum: 9\r\n\r\n")
        let frames = try #require(MirrorRequest.http1(head: head, match: try route("web"), body: body).http2Frames())
        guard frames.count == 4, case .headers(let block) = frames[0], case .data(let first) = frames[1], case .data(let second) = frames[2],
              case .headers(let trailers) = frames[3]
        else {
            Issue.record("unexpected frames: \(frames)")
            return
        }
        #expect(block.headers.first(name: ":authority") == "web-shadow")
        #expect(block.headers["heddle-mirror"] == ["1"])
        #expect(block.headers.first(name: "transfer-encoding") == nil)
        #expect(!block.endStream)
        #expect(Self.payloadText(first) == "hello" && !first.endStream)
        #expect(Self.payloadText(second) == "!")
        #expect(trailers.headers.first(name: "x-sum") == "9" && trailers.endStream)
    }

    @Test("HTTP/1 to HTTP/2: a request without a body is one header block that ends the stream")
    func http1ToHTTP2WithoutBody() throws {
        let head = try requestHead("GET / HTTP/1.1\r\nHost: web:80\r\n\r\n")
        let frames = try #require(MirrorRequest.http1(head: head, match: try route("web"), body: nil).http2Frames())
        guard frames.count == 1, case .headers(let block) = frames[0] else {
            Issue.record("unexpected frames: \(frames)")
            return
        }
        #expect(block.endStream)
        #expect(block.headers.first(name: ":authority") == "web-shadow:80")
    }

    @Test("HTTP/2 to HTTP/1: shadowed Host, cookies joined, connection-specific fields dropped, the body counted")
    func http2ToHTTP1() throws {
        let frames: [HTTP2Frame.FramePayload] = [
            .headers(.init(headers: Self.headers([
                (":method", "POST"), (":scheme", "http"), (":authority", "web:80"), (":path", "/p?q"),
                ("cookie", "a=1"), ("te", "trailers"), ("content-length", "5"), ("x-a", "1"), ("cookie", "b=2"),
                ("heddle-mirror", "0"),
            ]), endStream: false)),
            Self.dataFrame("hel", endStream: false),
            Self.dataFrame("lo", endStream: true),
        ]
        let bytes = try #require(MirrorRequest.http2(frames: frames).http1Bytes())
        #expect(text(bytes) == "POST /p?q HTTP/1.1\r\nhost: web-shadow:80\r\nx-a: 1\r\ncookie: a=1; b=2\r\ncontent-length: 5\r\nheddle-mirror: 1\r\n\r\nhello")
        let head = try requestHead(text(bytes))
        #expect(head.bodyFraming == .contentLength(5))
    }

    @Test("HTTP/2 to HTTP/1: a GET without a body gets no Content-Length")
    func http2ToHTTP1WithoutBody() throws {
        let frames: [HTTP2Frame.FramePayload] = [
            .headers(.init(headers: Self.headers([(":method", "GET"), (":scheme", "http"), (":authority", "web"), (":path", "/")]), endStream: true)),
        ]
        let bytes = try #require(MirrorRequest.http2(frames: frames).http1Bytes())
        #expect(text(bytes) == "GET / HTTP/1.1\r\nhost: web-shadow\r\nheddle-mirror: 1\r\n\r\n")
    }

    @Test("HTTP/2 to HTTP/2: the frames as sent upstream, the authority shadowed and the marker set")
    func http2ToHTTP2() throws {
        let frames: [HTTP2Frame.FramePayload] = [
            .headers(.init(headers: Self.headers([
                (":method", "POST"), (":scheme", "http"), (":authority", "grpc.test"), (":path", "/pkg.Svc/Call"),
                ("content-type", "application/grpc"), ("heddle-mirror", "0"),
            ]), endStream: false)),
            Self.dataFrame("message", endStream: true),
        ]
        let copy = try #require(MirrorRequest.http2(frames: frames).http2Frames())
        guard copy.count == 2, case .headers(let block) = copy[0], case .data(let data) = copy[1] else {
            Issue.record("unexpected frames: \(copy)")
            return
        }
        #expect(block.headers.first(name: ":authority") == "grpc.test-shadow")
        #expect(block.headers["heddle-mirror"] == ["1"])
        #expect(block.headers.first(name: "content-type") == "application/grpc")
        #expect(!block.endStream)
        #expect(data.endStream)
    }
}
