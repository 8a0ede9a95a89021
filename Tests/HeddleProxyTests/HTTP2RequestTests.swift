import HeddleCore
import HeddleHTTP1
import HeddlePolicy
import NIOCore
import NIOHPACK
import Testing

@testable import HeddleProxy

/// HTTP/2 requests as the route table sees them, the header blocks sent on, and their
/// translation to HTTP/1.1.
@Suite("HTTP/2 requests")
struct HTTP2RequestTests {
    func headers(_ pairs: [(String, String)]) -> HPACKHeaders {
        HPACKHeaders(pairs)
    }

    @Test("Host from :authority (lowercased, no port, userinfo or trailing dot), else host")
    func host() {
        #expect(HTTP2RouteRequest.normalizedHost("Shop.Example.com:8443") == "shop.example.com")
        #expect(HTTP2RouteRequest.normalizedHost("user@shop.") == "shop")
        #expect(HTTP2RouteRequest.normalizedHost("[::1]:80") == "[::1]")
        let fromHost = HTTP2RouteRequest(headers: headers([(":method", "GET"), (":path", "/"), ("host", "web:80")]))
        #expect(fromHost.host == "web")
    }

    @Test("Path and query come from :path; header and query lookups read the block")
    func pathAndQuery() {
        let request = HTTP2RouteRequest(headers: headers([
            (":method", "POST"), (":scheme", "http"), (":authority", "web"), (":path", "/a/b?x=1&y"),
            ("x-canary", "always"), ("cookie", "a=1"), ("cookie", "user=42"),
        ]))
        #expect(request.path == "/a/b")
        #expect(request.method == "POST")
        #expect(request.queryValue("x") == "1")
        #expect(request.queryValue("y") == "")
        #expect(request.queryValue("z") == nil)
        #expect(request.headerValues("x-canary") == ["always"])
        #expect(request.cookie("user") == "42")
    }

    @Test("gRPC is recognised by content type", arguments: [
        ("application/grpc", true), ("application/grpc+proto", true), ("application/GRPC", true),
        ("application/json", false), ("application/grp", false),
    ])
    func grpcDetection(contentType: String, isGRPC: Bool) {
        let request = HTTP2RouteRequest(headers: headers([(":method", "POST"), (":path", "/s/M"), ("content-type", contentType)]))
        #expect(request.isGRPC == isGRPC)
    }

    func requestText(_ block: HPACKHeaders, endStream: Bool) throws -> (text: String, chunked: Bool) {
        let head = try #require(HTTP1MessageTranslation.writeRequestHead(block, endStream: endStream))
        return (String(buffer: head.bytes), head.chunked)
    }

    @Test("An HTTP/2 request becomes an HTTP/1.1 head: Host, joined cookies, no te, framing chosen")
    func translation() throws {
        let block = headers([
            (":method", "POST"), (":scheme", "http"), (":authority", "shop:8080"), (":path", "/cart?id=1"),
            ("te", "trailers"), ("cookie", "a=1"), ("cookie", "b=2"), ("x-trace", "1"),
        ])
        let streaming = try requestText(block, endStream: false)
        #expect(streaming.text == "POST /cart?id=1 HTTP/1.1\r\nhost: shop:8080\r\nx-trace: 1\r\ncookie: a=1; b=2\r\ntransfer-encoding: chunked\r\n\r\n")
        #expect(streaming.chunked)
        let empty = try requestText(block, endStream: true)
        #expect(empty.text.hasSuffix("cookie: a=1; b=2\r\ncontent-length: 0\r\n\r\n"))
        #expect(!empty.chunked)
        var withLength = block
        withLength.add(name: "content-length", value: "5")
        let counted = try requestText(withLength, endStream: false)
        #expect(counted.text.contains("content-length: 5\r\n") && !counted.text.contains("transfer-encoding"))
        #expect(!counted.chunked)
        let get = headers([(":method", "GET"), (":authority", "shop"), (":path", "/")])
        #expect(try requestText(get, endStream: true).text == "GET / HTTP/1.1\r\nhost: shop\r\n\r\n")
    }

    @Test("A method or path that cannot sit in a request line is refused", arguments: [
        ("GET", "/a b"), ("GET", "/a\u{7F}"), ("GE T", "/"), ("GET", ""),
    ])
    func unsafeRequestLine(method: String, path: String) {
        let block = headers([(":method", method), (":authority", "shop"), (":path", path)])
        #expect(HTTP1MessageTranslation.writeRequestHead(block, endStream: true) == nil)
    }

    @Test("An HTTP/1.1 response head loses its connection-specific fields")
    func responseTranslation() throws {
        let bytes = ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n"
            + "Transfer-Encoding: chunked\r\nKeep-Alive: timeout=5\r\nX-App: yes\r\n\r\n")
        var fields: [HTTP1Field] = []
        guard case .head(let head, _) = HTTP1HeadParser.parseResponse(bytes, requestMethod: .get, fields: &fields) else {
            Issue.record("the head does not parse")
            return
        }
        let block = HTTP1MessageTranslation.responseHeaders(head)
        #expect(block.map(\.name) == [":status", "content-type", "x-app"])
        #expect(block.first(name: ":status") == "200")
    }

    @Test("Route filters rewrite :path and :authority and edit headers; untouched blocks pass as they are")
    func rewrites() throws {
        let config = try loadConfig(documents(
            serviceYAML("web"),
            routeYAML("r", spec: """
              hostnames: [shop]
              rules:
                - matches:
                    - path: {type: PathPrefix, value: /api}
                  filters:
                    - type: RequestHeaderModifier
                      requestHeaderModifier:
                        set: [{name: X-Env, value: prod}]
                        remove: [x-internal]
                    - type: URLRewrite
                      urlRewrite:
                        hostname: web.internal
                        path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}
                  backendRefs: [{name: web}]
            """)))
        let table = RouteTable(config: config, listener: "outbound")
        let request = HTTP2RouteRequest(headers: headers([
            (":method", "GET"), (":scheme", "http"), (":authority", "shop"), (":path", "/api/users?q=1"),
            ("x-internal", "secret"), ("x-env", "dev"), ("accept", "*/*"),
        ]))
        let match = try #require(table.match(request))
        let out = HTTP2HeaderRewrites.request(request, match: match)
        #expect(out.first(name: ":path") == "/v2/users?q=1")
        #expect(out.first(name: ":authority") == "web.internal")
        #expect(out["x-env"] == ["prod"])
        #expect(out["x-internal"].isEmpty)
        #expect(out["accept"] == ["*/*"])

        let plain = HTTP2RouteRequest(headers: headers([(":method", "GET"), (":authority", "web"), (":path", "/")]))
        let implicit = try #require(table.match(plain))
        #expect(HTTP2HeaderRewrites.request(plain, match: implicit) == plain.headers)
    }
}
