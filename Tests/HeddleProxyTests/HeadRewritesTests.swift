import Foundation
import HeddleCore
import HeddleHTTP1
import HeddlePolicy
import NIOCore
import Testing

@testable import HeddleProxy

/// `UpstreamRequestHead`, `DownstreamResponseHead` and `ProxyErrorResponse`: the heads the
/// proxy sends on, and the responses it makes itself.
@Suite("Head rewrites")
struct HeadRewritesTests {
    /// Services `web` and `api`; routes for `hdr.test` (header modifiers both ways), `rw.test`
    /// (prefix and hostname rewrite), `full.test` (full-path rewrite). Host `web` has only its
    /// implicit route, with no filters.
    static let yaml = documents(
            serviceYAML("web"),
            serviceYAML("api", addresses: ["10.0.0.2:80"]),
            routeYAML("hdr", spec: """
                  hostnames: [hdr.test]
                  rules:
                    - filters:
                        - type: RequestHeaderModifier
                          requestHeaderModifier:
                            set:
                              - name: X-Env
                                value: prod
                            add:
                              - name: X-Trace
                                value: added
                            remove: [X-Secret]
                        - type: ResponseHeaderModifier
                          responseHeaderModifier:
                            set:
                              - name: Server
                                value: heddle
                            add:
                              - name: X-Served-By
                                value: heddle
                            remove: [x-powered-by]
                      backendRefs:
                        - name: web
                """),
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
                      backendRefs:
                        - name: api
                """),
            routeYAML("full", spec: """
                  hostnames: [full.test]
                  rules:
                    - filters:
                        - type: URLRewrite
                          urlRewrite:
                            path:
                              type: ReplaceFullPath
                              replaceFullPath: /new
                      backendRefs:
                        - name: api
                """))

    let table: RouteTable

    init() throws {
        table = RouteTable(config: try loadConfig(Self.yaml), listener: "outbound")
    }

    /// The rule for `host` and `path`.
    func route(_ host: String, _ path: String = "/", sourceLocation: SourceLocation = #_sourceLocation) throws -> RouteMatch {
        try #require(table.match(TestRouteRequest(host, path)), "no route for \(host)\(path)", sourceLocation: sourceLocation)
    }

    /// The head sent upstream for `request`, routed by `host` and `path`.
    func upstream(_ request: String, host: String, path: String = "/", sourceLocation: SourceLocation = #_sourceLocation) throws -> ByteBuffer {
        let head = try requestHead(request, sourceLocation: sourceLocation)
        return UpstreamRequestHead.make(from: head, match: try route(host, path, sourceLocation: sourceLocation))
    }

    @Test("The config loads and its rules carry the filters under test")
    func fixture() throws {
        #expect(try route("web").rule.requestHeaders == nil)
        #expect(try route("web").rule.rewrite == nil)
        #expect(try route("hdr.test").rule.requestHeaders?.remove == ["x-secret"])
        #expect(try route("rw.test", "/api/x").matchedPrefix == "/api")
        #expect(try route("full.test").rule.rewrite?.path == .replaceFullPath("/new"))
    }

    // MARK: - UpstreamRequestHead

    @Test("An origin-form request with nothing to change goes out as received", arguments: [
        "GET /p?q HTTP/1.1\r\nHost: web\r\nAccept: */*\r\n\r\n",
        "POST /upload HTTP/1.1\r\nHost: web\r\nContent-Length: 5\r\nX-Custom:  spaced  \r\n\r\n",
        "GET / HTTP/1.0\r\n\r\n",
    ])
    func unchangedRequest(request: String) throws {
        let head = try requestHead(request)
        let out = UpstreamRequestHead.make(from: head, match: try route("web"))
        #expect(out == head.bytes)
        #expect(out.readableBytes == head.bytes.readableBytes)
        #expect(text(out) == request)
    }

    @Test("traceparent: set by one copy when nothing else changes, replaced in place, or by the general rewrite", arguments: [
        // None received: appended before the blank line.
        ("GET /p HTTP/1.1\r\nHost: web\r\n\r\n", "web",
         "GET /p HTTP/1.1\r\nHost: web\r\ntraceparent: NEW\r\n\r\n"),
        // A valid one received: its value overwritten where it stands.
        ("GET /p HTTP/1.1\r\nTraceParent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nHost: web\r\n\r\n", "web",
         "GET /p HTTP/1.1\r\nTraceParent: NEW\r\nHost: web\r\n\r\n"),
        // One of another length, or two: removed, and the new one appended.
        ("GET /p HTTP/1.1\r\ntraceparent: junk\r\nHost: web\r\n\r\n", "web",
         "GET /p HTTP/1.1\r\nHost: web\r\ntraceparent: NEW\r\n\r\n"),
        ("GET /p HTTP/1.1\r\ntraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nHost: web\r\ntraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n", "web",
         "GET /p HTTP/1.1\r\nHost: web\r\ntraceparent: NEW\r\n\r\n"),
        // With a route's header edits: the general rewrite sets it too.
        ("GET /p HTTP/1.1\r\nHost: hdr.test\r\ntraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n", "hdr.test",
         "GET /p HTTP/1.1\r\nHost: hdr.test\r\ntraceparent: NEW\r\nX-Env: prod\r\nX-Trace: added\r\n\r\n"),
    ])
    func traceParent(request: String, host: String, expected: String) throws {
        let value = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        let head = try requestHead(request)
        let out = UpstreamRequestHead.make(from: head, match: try route(host), traceParent: value)
        #expect(text(out).replacingOccurrences(of: value, with: "NEW") == expected)
        let reparsed = try reparsedRequest(out)
        #expect(reparsed.values("traceparent") == [value])
        #expect(text(head.bytes) == request, "the received bytes are left as they were")
    }

    @Test("An absolute-form target becomes origin-form with Host set to its authority")
    func absoluteForm() throws {
        let out = try upstream("GET http://web:8080/p?q HTTP/1.1\r\nHost: elsewhere\r\nAccept: */*\r\n\r\n", host: "web")
        #expect(text(out) == "GET /p?q HTTP/1.1\r\nHost: web:8080\r\nAccept: */*\r\n\r\n")
        let head = try reparsedRequest(out)
        #expect(head.targetForm == .origin)
        #expect(head.path == "/p")
        #expect(head.query == "q")
        #expect(head.values("host") == ["web:8080"])
    }

    @Test("An absolute-form HTTP/1.0 request without Host gets one")
    func absoluteFormWithoutHost() throws {
        let out = try upstream("GET http://web:8080/p HTTP/1.0\r\nAccept: */*\r\n\r\n", host: "web")
        #expect(text(out) == "GET /p HTTP/1.0\r\nHost: web:8080\r\nAccept: */*\r\n\r\n")
        _ = try reparsedRequest(out)
    }

    @Test("An absolute-form target without a path gets '/'")
    func absoluteFormWithoutPath() throws {
        let out = try upstream("GET http://web HTTP/1.1\r\nHost: web\r\n\r\n", host: "web")
        #expect(text(out) == "GET / HTTP/1.1\r\nHost: web\r\n\r\n")
    }

    @Test("Hop-by-hop fields are dropped: Connection, Keep-Alive, Proxy-Connection, TE and fields Connection names")
    func dropsHopByHop() throws {
        let out = try upstream(
            "GET / HTTP/1.1\r\nHost: web\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\n"
                + "Proxy-Connection: keep-alive\r\nTE: trailers\r\nx-hop: 1\r\nAccept: */*\r\n\r\n",
            host: "web")
        #expect(text(out) == "GET / HTTP/1.1\r\nHost: web\r\nAccept: */*\r\n\r\n")
        _ = try reparsedRequest(out)
    }

    @Test("Connection cannot strip the message's framing or Host")
    func connectionCannotStripFraming() throws {
        let out = try upstream(
            "POST / HTTP/1.1\r\nHost: web\r\nConnection: content-length, host, x-hop\r\nContent-Length: 2\r\nX-Hop: 1\r\n\r\n",
            host: "web")
        #expect(text(out) == "POST / HTTP/1.1\r\nHost: web\r\nContent-Length: 2\r\n\r\n")
        let head = try reparsedRequest(out)
        #expect(head.bodyFraming == .contentLength(2))
    }

    @Test("An upgrade request keeps Upgrade and gets 'Connection: Upgrade' in place of its Connection")
    func upgradeRequest() throws {
        let out = try upstream(
            "GET /chat HTTP/1.1\r\nHost: web\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade, X-Custom\r\n"
                + "X-Custom: 1\r\nSec-WebSocket-Key: abc\r\n\r\n",
            host: "web", path: "/chat")
        #expect(text(out) == "GET /chat HTTP/1.1\r\nHost: web\r\nUpgrade: websocket\r\nSec-WebSocket-Key: abc\r\nConnection: Upgrade\r\n\r\n")
        let head = try reparsedRequest(out)
        #expect(head.isUpgrade)
    }

    @Test("Upgrade without 'upgrade' in Connection is not an upgrade: it is dropped, nothing is added")
    func upgradeFieldWithoutConnectionToken() throws {
        let out = try upstream("GET / HTTP/1.1\r\nHost: web\r\nUpgrade: websocket\r\nAccept: */*\r\n\r\n", host: "web")
        #expect(text(out) == "GET / HTTP/1.1\r\nHost: web\r\nAccept: */*\r\n\r\n")
    }

    @Test("RequestHeaderModifier: set replaces, add appends, remove drops, names ignoring case")
    func requestHeaderModifier() throws {
        let out = try upstream(
            "GET /p?q=1 HTTP/1.1\r\nHost: hdr.test\r\nx-env: dev\r\nX-ENV: staging\r\nX-Trace: original\r\n"
                + "x-secret: s\r\nAccept: */*\r\n\r\n",
            host: "hdr.test", path: "/p")
        #expect(text(out) == "GET /p?q=1 HTTP/1.1\r\nHost: hdr.test\r\nX-Trace: original\r\nAccept: */*\r\nX-Env: prod\r\nX-Trace: added\r\n\r\n")
        let head = try reparsedRequest(out)
        #expect(head.values("x-env") == ["prod"])
        #expect(head.values("x-trace") == ["original", "added"])
        #expect(head.values("x-secret").isEmpty)
    }

    @Test("RequestHeaderModifier applies to an otherwise unchanged request even when no field it names is present")
    func requestHeaderModifierAddsToBareRequest() throws {
        let out = try upstream("GET / HTTP/1.1\r\nHost: hdr.test\r\n\r\n", host: "hdr.test")
        #expect(text(out) == "GET / HTTP/1.1\r\nHost: hdr.test\r\nX-Env: prod\r\nX-Trace: added\r\n\r\n")
    }

    @Test("URLRewrite replaces the matched prefix and the hostname, keeping the query")
    func prefixAndHostnameRewrite() throws {
        let out = try upstream("GET /api/users?id=7&x HTTP/1.1\r\nHost: rw.test\r\nAccept: */*\r\n\r\n", host: "rw.test", path: "/api/users")
        #expect(text(out) == "GET /v2/users?id=7&x HTTP/1.1\r\nHost: internal.web\r\nAccept: */*\r\n\r\n")
        let head = try reparsedRequest(out)
        #expect(head.path == "/v2/users")
        #expect(head.query == "id=7&x")
    }

    @Test("URLRewrite without a query adds none")
    func rewriteWithoutQuery() throws {
        let out = try upstream("GET /api HTTP/1.1\r\nHost: rw.test\r\n\r\n", host: "rw.test", path: "/api")
        #expect(text(out) == "GET /v2 HTTP/1.1\r\nHost: internal.web\r\n\r\n")
    }

    @Test("URLRewrite of an absolute-form request: origin-form, rewritten path and the rewritten hostname")
    func rewriteAbsoluteForm() throws {
        let out = try upstream("GET http://rw.test:8080/api/x?y HTTP/1.1\r\nHost: rw.test:8080\r\n\r\n", host: "rw.test", path: "/api/x")
        #expect(text(out) == "GET /v2/x?y HTTP/1.1\r\nHost: internal.web\r\n\r\n")
        _ = try reparsedRequest(out)
    }

    @Test("ReplaceFullPath replaces the whole path, keeps the query and leaves Host alone")
    func fullPathRewrite() throws {
        let out = try upstream("GET /anything/here?k=v HTTP/1.1\r\nHost: full.test\r\n\r\n", host: "full.test", path: "/anything/here")
        #expect(text(out) == "GET /new?k=v HTTP/1.1\r\nHost: full.test\r\n\r\n")
    }

    // MARK: - DownstreamResponseHead

    func downstream(
        _ response: String, requestVersion: HTTP1Version = .http1_1, keepAlive: Bool = true, modifier: HeaderModifier? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> (out: ByteBuffer, head: HTTP1Head) {
        let head = try responseHead(response, sourceLocation: sourceLocation)
        let out = DownstreamResponseHead.make(from: head, requestVersion: requestVersion, keepAlive: keepAlive, modifier: modifier)
        return (out, head)
    }

    @Test("A response goes out as received when the client keeps alive on HTTP/1.1 and only 'Connection: keep-alive' is hop-by-hop", arguments: [
        "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nServer: app\r\n\r\n",
    ])
    func unchangedResponse(response: String) throws {
        let (out, head) = try downstream(response)
        #expect(out == head.bytes)
        #expect(text(out) == response)
        #expect(DownstreamResponseHead.rewrite(head, requestVersion: .http1_1, keepAlive: true, modifier: nil) == nil)
    }

    @Test("'Connection: close' is added when the client connection will close")
    func closeWhenNotKeepingAlive() throws {
        let (out, _) = try downstream("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n", keepAlive: false)
        #expect(text(out) == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n")
        let (head, _) = try parsedResponse(out)
        #expect(!head.keepAlive)
    }

    @Test("'Connection: keep-alive' is added for an HTTP/1.0 client that is kept alive")
    func keepAliveForHTTP10Client() throws {
        let (out, _) = try downstream("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", requestVersion: .http1_0)
        #expect(text(out) == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n")
    }

    @Test("An HTTP/1.0 client that is not kept alive gets 'Connection: close'")
    func closeForHTTP10Client() throws {
        let (out, _) = try downstream("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", requestVersion: .http1_0, keepAlive: false)
        #expect(text(out) == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n")
    }

    @Test("Other hop-by-hop fields are stripped; a kept-alive HTTP/1.1 client gets no Connection field")
    func stripsHopByHop() throws {
        let (out, _) = try downstream(
            "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\n"
                + "Proxy-Connection: keep-alive\r\nUpgrade: h2c\r\nContent-Length: 2\r\nServer: app\r\n\r\n")
        #expect(text(out) == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nServer: app\r\n\r\n")
    }

    @Test("The app's 'Connection: close' does not close the client connection")
    func upstreamCloseIsHopByHop() throws {
        let (out, _) = try downstream("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n")
        #expect(text(out) == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n")
    }

    @Test("ResponseHeaderModifier: set replaces, add appends, remove drops, names ignoring case")
    func responseHeaderModifier() throws {
        let modifier = try #require(route("hdr.test").rule.responseHeaders)
        let (out, _) = try downstream(
            "HTTP/1.1 200 OK\r\nserver: app\r\nX-Powered-By: php\r\nContent-Length: 2\r\nX-Served-By: app\r\n\r\n",
            modifier: modifier)
        #expect(text(out) == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Served-By: app\r\nServer: heddle\r\nX-Served-By: heddle\r\n\r\n")
        let (head, _) = try parsedResponse(out)
        #expect(head.values("server") == ["heddle"])
        #expect(head.values("x-powered-by").isEmpty)
    }

    @Test("ResponseHeaderModifier with a closing connection: Connection first, then the route's fields")
    func responseHeaderModifierAndClose() throws {
        let modifier = try #require(route("hdr.test").rule.responseHeaders)
        let (out, _) = try downstream("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", keepAlive: false, modifier: modifier)
        #expect(text(out) == "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\nServer: heddle\r\nX-Served-By: heddle\r\n\r\n")
    }

    // MARK: - ProxyErrorResponse

    /// `buffer` parsed as a response: the head, and the body its Content-Length frames.
    func parseError(_ buffer: ByteBuffer, sourceLocation: SourceLocation = #_sourceLocation) throws -> (head: HTTP1Head, body: String) {
        let (head, consumed) = try parsedResponse(buffer, sourceLocation: sourceLocation)
        guard case .contentLength(let length) = head.bodyFraming else {
            Issue.record("no Content-Length: \(head.bodyFraming)", sourceLocation: sourceLocation)
            throw HeadParseFailure()
        }
        #expect(Int(length) == buffer.readableBytes - consumed, "Content-Length does not match the body", sourceLocation: sourceLocation)
        let body = buffer.getString(at: buffer.readerIndex + consumed, length: buffer.readableBytes - consumed) ?? ""
        return (head, body)
    }

    @Test("An error response has the status, heddle-error, Proxy-Status and a one-line body")
    func errorResponse() throws {
        let failure = ProxyFailure(.noRoute, "no route for host 'web' path '/x'")
        let (head, body) = try parseError(ProxyErrorResponse.make(failure, version: .http1_1, keepAlive: true))
        #expect(head.version == .http1_1)
        #expect(head.statusCode == 404)
        #expect(head.reason == "Not Found")
        #expect(head.values("heddle-error") == ["no-route"])
        #expect(head.values("proxy-status") == [failure.proxyStatus])
        #expect(head.values("content-type") == ["text/plain; charset=utf-8"])
        #expect(head.values("connection").isEmpty)
        #expect(head.keepAlive)
        #expect(body == "heddle: no-route: no route for host 'web' path '/x'\n")
    }

    @Test("Every reason makes a parseable response with its status and identifier", arguments: ProxyErrorReason.allCases)
    func errorResponseForEveryReason(reason: ProxyErrorReason) throws {
        let failure = ProxyFailure(reason, "detail \"quoted\" \\")
        let (head, body) = try parseError(ProxyErrorResponse.make(failure, version: .http1_1, keepAlive: false))
        #expect(head.statusCode == reason.status)
        #expect(head.reason == reason.reasonPhrase)
        #expect(head.values("heddle-error") == [reason.identifier])
        #expect(head.values("proxy-status") == [failure.proxyStatus])
        #expect(body == "heddle: \(reason.identifier): detail \"quoted\" \\\n")
    }

    @Test("'Connection: close' when the connection closes after the error")
    func errorResponseClose() throws {
        let failure = ProxyFailure(.badRequest, "invalid-request-line")
        let (head, _) = try parseError(ProxyErrorResponse.make(failure, version: .http1_1, keepAlive: false))
        #expect(head.values("connection") == ["close"])
        #expect(!head.keepAlive)
    }

    @Test("'Connection: keep-alive' for an HTTP/1.0 client kept alive")
    func errorResponseHTTP10KeepAlive() throws {
        let failure = ProxyFailure(.noEndpoints, "service 'web' has no endpoints")
        let (head, _) = try parseError(ProxyErrorResponse.make(failure, version: .http1_0, keepAlive: true))
        #expect(head.values("connection") == ["keep-alive"])
    }

    @Test("Details with line breaks or non-ASCII cannot inject fields: the body is printable ASCII and Content-Length counts it")
    func errorResponseInjection() throws {
        let failure = ProxyFailure(.badRequest, "evil\r\nSet-Cookie: x=1\r\n\r\ncaf\u{E9} \u{1F44D}")
        let buffer = ProxyErrorResponse.make(failure, version: .http1_1, keepAlive: false)
        let (head, body) = try parseError(buffer)
        #expect(head.values("set-cookie").isEmpty)
        #expect(body == "heddle: bad-request: evil??Set-Cookie: x=1????caf? ?\n")
        #expect(head.values("proxy-status") == [failure.proxyStatus])
        #expect(buffer.readableBytesView.allSatisfy { $0 == 0x0D || $0 == 0x0A || ($0 >= 0x20 && $0 < 0x7F) })
    }

    @Test("Long details are cut in the body (300 characters) and in Proxy-Status (200)")
    func errorResponseLongDetails() throws {
        let failure = ProxyFailure(.upstreamProtocolError, String(repeating: "x", count: 1000))
        let (head, body) = try parseError(ProxyErrorResponse.make(failure, version: .http1_1, keepAlive: true))
        #expect(body == "heddle: upstream-protocol-error: \(String(repeating: "x", count: 300))\n")
        #expect(head.values("proxy-status") == ["heddle; error=http_protocol_error; details=\"\(String(repeating: "x", count: 200))\""])
    }
}
