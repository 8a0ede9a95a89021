import Foundation
import Testing

/// Proxy to proxy: an HTTP/1.1 client's requests through proxy A to a service whose endpoint is
/// proxy B's inbound listener (`protocol: http2`) cross the hop as HTTP/2 and reach B's app as
/// HTTP/1.1 again: curl → A → (h2c) → B → app.
@Suite(.serialized)
struct MeshHopTests {
    struct Mesh {
        let app: Upstream
        let b: HeddleProxyProcess
        let a: HeddleProxyProcess

        var url: String { "http://127.0.0.1:\(a.outbound)" }

        func stop() {
            a.stop()
            b.stop()
            app.child.stop()
        }
    }

    /// B: an inbound listener in front of the app. A: service `web` (`protocol: http2`) on B's
    /// inbound port, and route `shop` (prefix rewrite and header filters) to it.
    static func mesh(inboundProtocol: String? = nil, aSettings: String = "") async throws -> Mesh {
        let app = try await Upstream(.http, name: "app")
        var inbound = "address: 127.0.0.1:0\nappAddress: \(app.address)"
        if let inboundProtocol { inbound += "\nprotocol: \(inboundProtocol)" }
        let b = try await HeddleProxyProcess(config: Config.proxy(inbound: inbound), expectListeners: ["outbound", "inbound", "admin"])
        let bInbound = try #require(b.ports["inbound"])
        let config = Config.proxy(aSettings) + Config.service("web", ["127.0.0.1:\(bInbound)"], extra: "protocol: http2")
            + Config.route("shop", """
                hostnames: [shop]
                rules:
                  - matches:
                      - path:
                          type: PathPrefix
                          value: /api
                    filters:
                      - type: RequestHeaderModifier
                        requestHeaderModifier:
                          set: [{name: X-Env, value: prod}]
                          remove: [x-internal]
                      - type: ResponseHeaderModifier
                        responseHeaderModifier:
                          add: [{name: X-Route, value: shop}]
                      - type: URLRewrite
                        urlRewrite:
                          path:
                            type: ReplacePrefixMatch
                            replacePrefixMatch: /headers
                    backendRefs:
                      - name: web
                """)
        let a = try await HeddleProxyProcess(config: config)
        return Mesh(app: app, b: b, a: a)
    }

    static func scratchFile(bytes: Int) throws -> String {
        let path = "\(TestSupport.scratchDirectory())/mesh-\(UUID().uuidString.prefix(8)).bin"
        try Data(repeating: UInt8(ascii: "m"), count: bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func http1RequestsCrossTheHopAsHTTP2() async throws {
        let mesh = try await Self.mesh()
        defer { mesh.stop() }

        let hello = try curl(["-i", "-H", "Host: web", "\(mesh.url)/hello"])
        let helloResponse = RawConnection.parse(hello.output)
        #expect(helloResponse.status == 200, "\(hello.output)")
        #expect(helloResponse.headers["x-served-by"] == "app")
        #expect(helloResponse.body == "hello from app\n")

        // What the app received: HTTP/1.1 again, Host restored, the query kept, and the header
        // names lowercased by the HTTP/2 hop (raw HTTP/1 forwarding would keep curl's
        // `User-Agent`), with no hop-by-hop fields.
        let echoed = try curl(["-H", "Host: web", "-H", "Connection: keep-alive, X-Hop", "-H", "X-Hop: 1", "-H", "X-Kept: yes", "\(mesh.url)/headers?q=1&r=two"])
        #expect(echoed.output.hasPrefix("GET /headers?q=1&r=two HTTP/1.1\r\n"), "\(echoed.output)")
        #expect(echoed.output.contains("\r\nhost: web\r\n"), "\(echoed.output)")
        #expect(echoed.output.contains("\r\nuser-agent: curl/"), "\(echoed.output)")
        #expect(echoed.output.contains("\r\nx-kept: yes\r\n"))
        #expect(!echoed.output.contains("User-Agent"))
        #expect(!echoed.output.lowercased().contains("x-hop"))

        // The proxy as http_proxy (absolute-form): the authority becomes the app's Host.
        let proxied = try curl(["-x", mesh.url, "http://web/headers?via=proxy"])
        #expect(proxied.output.hasPrefix("GET /headers?via=proxy HTTP/1.1\r\n"), "\(proxied.output)")
        #expect(proxied.output.contains("\r\nhost: web\r\n"))

        // Route filters on A: rewrite, request and response header edits.
        let routed = try curl(["-i", "-H", "Host: shop", "-H", "X-Internal: secret", "\(mesh.url)/api?page=2"])
        let routedResponse = RawConnection.parse(routed.output)
        #expect(routedResponse.status == 200)
        #expect(routedResponse.headers["x-route"] == "shop", "\(routed.output)")
        #expect(routedResponse.body.hasPrefix("GET /headers?page=2 HTTP/1.1\r\n"), "\(routed.output)")
        #expect(routedResponse.body.contains("\r\nhost: shop\r\n"))
        #expect(routedResponse.body.contains("\r\nx-env: prod\r\n"))
        #expect(!routedResponse.body.contains("secret"))

        // HEAD: a head without a body.
        let head = try curl(["-I", "-H", "Host: web", "\(mesh.url)/hello"])
        #expect(head.output.hasPrefix("HTTP/1.1 200"), "\(head.output)")

        // B counted every request on its inbound listener, A on its outbound one.
        let bMetrics = try proxyMetrics(mesh.b)
        #expect(bMetrics.contains("heddle_requests_total{listener=\"inbound\",route=\"inbound#0\",backend=\"app\",status_class=\"2xx\"} 5"), "\(bMetrics)")
        let aMetrics = try proxyMetrics(mesh.a)
        #expect(aMetrics.contains("heddle_requests_total{listener=\"outbound\",route=\"web#0\",backend=\"web\",status_class=\"2xx\"} 4"), "\(aMetrics)")
    }

    @Test func largeBodiesStreamBothWays() async throws {
        let mesh = try await Self.mesh()
        defer { mesh.stop() }
        let size = 5 * 1024 * 1024
        let file = try Self.scratchFile(bytes: size)
        defer { try? FileManager.default.removeItem(atPath: file) }

        let chunked = try curl(["-H", "Host: web", "-H", "Transfer-Encoding: chunked", "--data-binary", "@\(file)", "\(mesh.url)/count"], timeout: 60)
        #expect(chunked.output == "\(size)\n")
        let counted = try curl(["-H", "Host: web", "--data-binary", "@\(file)", "\(mesh.url)/count"], timeout: 60)
        #expect(counted.output == "\(size)\n")

        // The app's chunked response: chunked to the client, every byte there.
        let download = try curl(["-H", "Host: web", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", "\(mesh.url)/bytes/\(size)"], timeout: 60)
        #expect(download.output == "200 \(size)")
        // An HTTP/1.0 client cannot take chunks: the body is close-delimited.
        let old = try curl(["-0", "-H", "Host: web", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", "\(mesh.url)/bytes/100000"], timeout: 60)
        #expect(old.output == "200 100000")

        // The request body echoed back as it streams (chunked both ways).
        let echo = try curl(["-H", "Host: web", "-H", "Transfer-Encoding: chunked", "--data-binary", "@\(file)", "-o", "/dev/null", "-w", "%{size_download}", "\(mesh.url)/echo"], timeout: 60)
        #expect(echo.output == "\(size)")
    }

    @Test func keepAliveAndPipeliningAcrossBridgedRequests() async throws {
        let mesh = try await Self.mesh()
        defer { mesh.stop() }

        let connection = try RawConnection(port: mesh.a.outbound)
        for index in 0..<3 {
            connection.send("GET /hello?n=\(index) HTTP/1.1\r\nHost: web\r\n\r\n")
            let response = try connection.readResponse()
            #expect(response.status == 200)
            #expect(response.body == "hello from app\n")
            #expect(!response.closed, "request \(index)")
        }
        // Pipelined, one with a body.
        connection.send("GET /hello HTTP/1.1\r\nHost: web\r\n\r\nPOST /count HTTP/1.1\r\nHost: web\r\nContent-Length: 5\r\n\r\nabcdeGET /hello HTTP/1.1\r\nHost: web\r\n\r\n")
        let first = try connection.readResponse(checkClosed: false)
        let second = try connection.readResponse(checkClosed: false)
        let third = try connection.readResponse()
        #expect(first.body == "hello from app\n")
        #expect(second.body == "5\n")
        #expect(third.body == "hello from app\n")
        #expect(!third.closed)

        // A chunked upload with trailers (a trailer block on the hop), then `Expect:
        // 100-continue`: the app's interim response comes back through both proxies.
        connection.send("POST /count HTTP/1.1\r\nHost: web\r\nTransfer-Encoding: chunked\r\nTE: trailers\r\n\r\n5\r\nhello\r\n7;x=1\r\n, mesh!\r\n0\r\nX-Sum: 12\r\n\r\n")
        let trailed = try connection.readResponse()
        #expect(trailed.body == "12\n", "\(trailed.raw)")
        #expect(!trailed.closed)
        connection.send("POST /count HTTP/1.1\r\nHost: web\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        let interim = try connection.readResponse(checkClosed: false)
        #expect(interim.status == 100, "\(interim.raw)")
        connection.send("data")
        let counted = try connection.readResponse()
        #expect(counted.status == 200)
        #expect(counted.body == "4\n")

        // curl reuses one connection for a chunked response and the request after it.
        let reused = try curl(["-H", "Host: web", "-o", "/dev/null", "-o", "/dev/null", "-w", "%{num_connects} ", "\(mesh.url)/bytes/70000", "\(mesh.url)/hello"])
        #expect(reused.output == "1 0 ")

        // An upgrade cannot cross the hop: refused clearly, the connection still usable.
        connection.send("GET /ws HTTP/1.1\r\nHost: web\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
        let upgrade = try connection.readResponse()
        #expect(upgrade.status == 501)
        #expect(upgrade.headers["heddle-error"] == "not-implemented")
        #expect(upgrade.body.contains("upgrade over a mesh HTTP/2 hop is not supported"), "\(upgrade.raw)")
        #expect(!upgrade.closed)
    }

    @Test func errorsOnTheHop() async throws {
        let mesh = try await Self.mesh()
        defer { mesh.stop() }

        // The app closes without answering: B answers 502, and A passes it on untouched.
        let closed = try curl(["-i", "-H", "Host: web", "\(mesh.url)/close"])
        let closedResponse = RawConnection.parse(closed.output)
        #expect(closedResponse.status == 502, "\(closed.output)")
        #expect(closedResponse.headers["heddle-error"] == "upstream-reset")
        #expect(closedResponse.body.hasPrefix("heddle: upstream-reset: "))
        let aMetrics = try proxyMetrics(mesh.a)
        #expect(!aMetrics.contains("heddle_proxy_errors_total{reason=\"upstream-reset\"} 1"), "A made no error of its own")
        #expect(try proxyMetrics(mesh.b).contains("heddle_proxy_errors_total{reason=\"upstream-reset\"} 1"))

        // Still fine afterwards.
        #expect(try curl(["-H", "Host: web", "\(mesh.url)/hello"]).output == "hello from app\n")

        // B is gone: A cannot connect.
        mesh.b.stop()
        try await Task.sleep(for: .milliseconds(300))
        let refused = try curl(["-i", "-H", "Host: web", "\(mesh.url)/hello"])
        let refusedResponse = RawConnection.parse(refused.output)
        #expect(refusedResponse.status == 502, "\(refused.output)")
        #expect(refusedResponse.headers["heddle-error"] == "connect-failed")
    }

    /// A's request timeout is shorter than B's: A answers 504 and resets the stream; the
    /// client connection carries on.
    @Test func aTimesOutASilentHop() async throws {
        let mesh = try await Self.mesh(aSettings: "requestTimeout: 1s")
        defer { mesh.stop() }
        let connection = try RawConnection(port: mesh.a.outbound)
        connection.send("GET /hang HTTP/1.1\r\nHost: web\r\n\r\n")
        let timedOut = try connection.readResponse()
        #expect(timedOut.status == 504)
        #expect(timedOut.headers["heddle-error"] == "upstream-timeout")
        #expect(!timedOut.closed)
        connection.send("GET /hello HTTP/1.1\r\nHost: web\r\n\r\n")
        #expect(try connection.readResponse().body == "hello from app\n")
    }

    /// B's inbound listener takes only HTTP/2: A's requests still get through, so the hop is
    /// HTTP/2.
    @Test func anHTTP2OnlyInboundListenerServesTheHop() async throws {
        let mesh = try await Self.mesh(inboundProtocol: "http2")
        defer { mesh.stop() }
        let hello = try curl(["-H", "Host: web", "\(mesh.url)/hello"])
        #expect(hello.output == "hello from app\n")
        let upload = try curl(["-H", "Host: web", "-H", "Transfer-Encoding: chunked", "--data-binary", "0123456789", "\(mesh.url)/count"])
        #expect(upload.output == "10\n")
    }
}
