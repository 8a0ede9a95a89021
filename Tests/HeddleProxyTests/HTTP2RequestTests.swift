import HeddleCore
import HeddlePolicy
import NIOHPACK
import NIOHTTP1
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

    @Test("An HTTP/2 request becomes an HTTP/1.1 head: Host, joined cookies, no te, framing chosen")
    func translation() {
        let block = headers([
            (":method", "POST"), (":scheme", "http"), (":authority", "shop:8080"), (":path", "/cart?id=1"),
            ("te", "trailers"), ("cookie", "a=1"), ("cookie", "b=2"), ("x-trace", "1"),
        ])
        let streaming = HTTP1MessageTranslation.requestHead(block, endStream: false)
        #expect(streaming.method == .POST)
        #expect(streaming.uri == "/cart?id=1")
        #expect(streaming.headers["host"] == ["shop:8080"])
        #expect(streaming.headers["cookie"] == ["a=1; b=2"])
        #expect(streaming.headers["te"].isEmpty)
        #expect(streaming.headers["transfer-encoding"] == ["chunked"])
        let empty = HTTP1MessageTranslation.requestHead(block, endStream: true)
        #expect(empty.headers["content-length"] == ["0"])
        #expect(empty.headers["transfer-encoding"].isEmpty)
        var withLength = block
        withLength.add(name: "content-length", value: "5")
        #expect(HTTP1MessageTranslation.requestHead(withLength, endStream: false).headers["transfer-encoding"].isEmpty)
        let get = headers([(":method", "GET"), (":authority", "shop"), (":path", "/")])
        #expect(HTTP1MessageTranslation.requestHead(get, endStream: true).headers["content-length"].isEmpty)
    }

    @Test("An HTTP/1.1 response head loses its connection-specific fields")
    func responseTranslation() {
        let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: HTTPHeaders([
            ("Content-Type", "text/plain"), ("Connection", "keep-alive, X-Hop"), ("X-Hop", "1"),
            ("Transfer-Encoding", "chunked"), ("Keep-Alive", "timeout=5"), ("X-App", "yes"),
        ]))
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
