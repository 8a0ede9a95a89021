import Foundation
import Testing

/// HTTP/2 cleartext with prior knowledge through the real binary: `h2` clients (the Python
/// `h2` library) on auto-detecting and `http2` listeners, to HTTP/2 and HTTP/1.1 upstreams.
@Suite(.serialized)
struct HTTP2Tests {
    typealias Response = [String: Any]

    static func h2(_ port: Int, _ authority: String, _ path: String, _ options: [String] = []) async throws -> [Response] {
        try await runPythonClient("h2_client.py", [String(port), authority, path] + options)
    }

    static func headers(_ response: Response) -> [String: String] {
        response["headers"] as? [String: String] ?? [:]
    }

    @Test func h2cOnAutoAndHTTP2ListenersReachesAnHTTP2Upstream() async throws {
        let app = try await FixtureServer("h2_server.py", name: "h2app")
        let config = Config.proxy(gateways: """
            - name: h2only
              address: 127.0.0.1:0
              protocol: http2
            """) + Config.service("h2app", [app.address], extra: "protocol: http2")
        let proxy = try await HeddleProxyProcess(config: config, expectListeners: ["outbound", "h2only", "admin"])
        for (listener, port) in [("outbound", proxy.outbound), ("h2only", proxy.ports["h2only"] ?? 0)] {
            let hello = try await Self.h2(port, "h2app", "/hello")
            #expect(hello.count == 1)
            #expect(hello[0]["status"] as? Int == 200, "\(listener): \(hello)")
            #expect(hello[0]["body"] as? String == "hello from h2app over h2\n", "\(listener)")
            #expect(Self.headers(hello[0])["x-served-by"] == "h2app")

            let trailers = try await Self.h2(port, "h2app", "/trailers")
            #expect(trailers[0]["body"] as? String == "body before trailers\n")
            #expect(trailers[0]["trailers"] as? [String: String] == ["x-checksum": "abc123"], "\(listener): \(trailers)")

            // A megabyte each way: flow control on both connections.
            let echo = try await Self.h2(port, "h2app", "/echo", ["--method", "POST", "--body-size", "1048576"])
            #expect(echo[0]["status"] as? Int == 200)
            #expect(echo[0]["length"] as? Int == 1_048_576)
            #expect(echo[0]["intact"] as? Bool == true, "\(listener)")
        }
        let metrics = try proxyMetrics(proxy)
        #expect(metrics.contains("heddle_requests_total{listener=\"outbound\",route=\"h2app#0\",backend=\"h2app\",status_class=\"2xx\"} 3"))
        #expect(metrics.contains("heddle_requests_total{listener=\"h2only\",route=\"h2app#0\",backend=\"h2app\",status_class=\"2xx\"} 3"))
    }

    @Test func h2cReachesAnHTTP1UpstreamWithRouteFilters() async throws {
        let app = try await Upstream(.http, name: "h1app")
        let config = Config.proxy() + Config.service("h1app", [app.address]) + Config.route("rewritten", """
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
                      hostname: h1app.internal
                      path:
                        type: ReplacePrefixMatch
                        replacePrefixMatch: /headers
                backendRefs:
                  - name: h1app
            """)
        let proxy = try await HeddleProxyProcess(config: config)
        let hello = try await Self.h2(proxy.outbound, "h1app", "/hello")
        #expect(hello[0]["status"] as? Int == 200)
        #expect(hello[0]["body"] as? String == "hello from h1app\n")

        let echo = try await Self.h2(proxy.outbound, "h1app", "/echo", ["--method", "POST", "--body-size", "2000000"])
        #expect(echo[0]["status"] as? Int == 200)
        #expect(echo[0]["intact"] as? Bool == true, "\(echo)")

        // Chunked trailers become an HTTP/2 trailer block; a body that ends at the close ends
        // the stream; a HEAD response has no body; the connection-specific fields stay behind.
        let trailers = try await Self.h2(proxy.outbound, "h1app", "/trailers")[0]
        #expect(trailers["body"] as? String == "body before trailers\n", "\(trailers)")
        #expect(trailers["trailers"] as? [String: String] == ["x-checksum": "abc123"], "\(trailers)")
        #expect(Self.headers(trailers)["transfer-encoding"] == nil)
        let untilClose = try await Self.h2(proxy.outbound, "h1app", "/until-close")[0]
        #expect(untilClose["body"] as? String == "body until close\n", "\(untilClose)")
        #expect(untilClose["done"] as? Bool == true)
        #expect(Self.headers(untilClose)["connection"] == nil)
        let head = try await Self.h2(proxy.outbound, "h1app", "/bytes/5000", ["--method", "HEAD"])[0]
        #expect(head["status"] as? Int == 200, "\(head)")
        #expect(head["length"] as? Int == 0)
        #expect(head["done"] as? Bool == true)

        // The HTTP/1.1 request the app received: Host from :authority (rewritten), the path
        // rewritten with the query kept, headers edited, split cookies joined, no `te`.
        let seen = try await Self.h2(proxy.outbound, "shop", "/api?x=1", [
            "--header", "x-internal: secret", "--header", "cookie: a=1", "--header", "cookie: b=2", "--header", "te: trailers",
        ])
        let received = seen[0]["body"] as? String ?? ""
        #expect(received.hasPrefix("GET /headers?x=1 HTTP/1.1\r\n"), "\(received)")
        #expect(received.contains("host: h1app.internal\r\n"), "\(received)")
        #expect(received.contains("x-env: prod\r\n"))
        #expect(received.contains("cookie: a=1; b=2\r\n"), "\(received)")
        #expect(!received.contains("x-internal"))
        #expect(!received.lowercased().contains("\r\nte:"))
        #expect(Self.headers(seen[0])["x-route"] == "shop")
    }

    @Test func manyConcurrentStreamsOnOneConnection() async throws {
        let h2app = try await FixtureServer("h2_server.py", name: "many-h2")
        let h1app = try await Upstream(.http, name: "many-h1")
        let config = Config.proxy() + Config.service("h2app", [h2app.address], extra: "protocol: http2")
            + Config.service("h1app", [h1app.address])
        let proxy = try await HeddleProxyProcess(config: config)
        let overH2 = try await Self.h2(proxy.outbound, "h2app", "/hello", ["--count", "200"])
        #expect(overH2.count == 200)
        #expect(overH2.allSatisfy { $0["status"] as? Int == 200 && $0["body"] as? String == "hello from many-h2 over h2\n" })
        let overH1 = try await Self.h2(proxy.outbound, "h1app", "/hello", ["--count", "100"])
        #expect(overH1.count == 100)
        #expect(overH1.allSatisfy { $0["status"] as? Int == 200 && $0["body"] as? String == "hello from many-h1\n" })
        let metrics = try proxyMetrics(proxy)
        #expect(metrics.contains("heddle_requests_total{listener=\"outbound\",route=\"h2app#0\",backend=\"h2app\",status_class=\"2xx\"} 200"))
        #expect(metrics.contains("heddle_requests_total{listener=\"outbound\",route=\"h1app#0\",backend=\"h1app\",status_class=\"2xx\"} 100"))
    }

    @Test func proxyMadeErrorsExplainThemselves() async throws {
        let app = try await FixtureServer("h2_server.py", name: "errs")
        let closedPort = try await ErrorReasonTests.closedPort()
        let config = Config.proxy("requestTimeout: 1s")
            + Config.service("app", [app.address], extra: "protocol: http2")
            + Config.service("down", ["127.0.0.1:\(closedPort)"], extra: "protocol: http2")
            + Config.service("empty", [], extra: "protocol: http2")
        let proxy = try await HeddleProxyProcess(config: config)
        let cases: [(host: String, path: String, status: Int, reason: String)] = [
            ("nowhere", "/", 404, "no-route"),
            ("empty", "/", 503, "no-endpoints"),
            ("down", "/", 502, "connect-failed"),
            ("app", "/reset", 502, "upstream-reset"),
            ("app", "/slow/3000", 504, "upstream-timeout"),
        ]
        for item in cases {
            let response = try await Self.h2(proxy.outbound, item.host, item.path)[0]
            let headers = Self.headers(response)
            #expect(response["status"] as? Int == item.status, "\(item): \(response)")
            #expect(headers["heddle-error"] == item.reason, "\(item): \(response)")
            #expect(headers["proxy-status"]?.hasPrefix("heddle; error=") == true)
            #expect((response["body"] as? String)?.hasPrefix("heddle: \(item.reason): ") == true)
        }
        let metrics = try proxyMetrics(proxy)
        for item in cases {
            #expect(metrics.contains("heddle_proxy_errors_total{reason=\"\(item.reason)\"} 1"), "\(item.reason)")
        }
    }

    @Test func resetsPassBothWays() async throws {
        let app = try await FixtureServer("h2_server.py", name: "resets")
        let proxy = try await HeddleProxyProcess(config: Config.proxy() + Config.service("app", [app.address], extra: "protocol: http2"))
        // The endpoint resets mid-response: the client's stream is reset with the same code.
        let mid = try await Self.h2(proxy.outbound, "app", "/reset-mid")[0]
        #expect(mid["status"] as? Int == 200, "\(mid)")
        #expect(mid["reset"] as? Int == 0xB, "ENHANCE_YOUR_CALM passed on: \(mid)")
        // The client resets while waiting: the endpoint's stream is reset too.
        let cancelled = try await Self.h2(proxy.outbound, "app", "/slow/3000", ["--cancel-after", "0.5"])[0]
        #expect(cancelled["reset"] as? String == "sent")
        var resets = 0
        for _ in 0..<40 where resets == 0 {
            try await Task.sleep(for: .milliseconds(50))
            let stats = try await Self.h2(proxy.outbound, "app", "/stats")[0]
            let json = try JSONSerialization.jsonObject(with: Data((stats["body"] as? String ?? "").utf8)) as? [String: Int]
            resets = json?["resets"] ?? 0
        }
        #expect(resets == 1, "the endpoint saw the client's reset")
        #expect(try proxyMetrics(proxy).contains("heddle_proxy_errors_total{reason=\"upstream-reset\"} 1"))
    }

    @Test func upstreamGoAwayRetiresItsConnection() async throws {
        let app = try await FixtureServer("h2_server.py", name: "goaway")
        let proxy = try await HeddleProxyProcess(config: Config.proxy() + Config.service("app", [app.address], extra: "protocol: http2"))
        let first = try await Self.h2(proxy.outbound, "app", "/goaway")[0]
        #expect(first["body"] as? String == "goaway from goaway\n")
        for _ in 0..<3 {
            let next = try await Self.h2(proxy.outbound, "app", "/hello")[0]
            #expect(next["status"] as? Int == 200, "a new connection carries the next stream: \(next)")
        }
    }

    /// The frame types of a server's HTTP/2 byte stream, in order (GOAWAY is 7).
    static func frameTypes(_ bytes: [UInt8]) -> [UInt8] {
        var types: [UInt8] = []
        var offset = 0
        while offset + 9 <= bytes.count {
            let length = Int(bytes[offset]) << 16 | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2])
            types.append(bytes[offset + 3])
            offset += 9 + length
        }
        return types
    }

    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    /// An empty SETTINGS frame.
    static let settings: [UInt8] = [0, 0, 0, 4, 0, 0, 0, 0, 0]

    @Test func idleConnectionIsSentGoAwayAndClosed() async throws {
        let proxy = try await HeddleProxyProcess(config: Config.proxy("idleTimeout: 1s"))
        let connection = try RawConnection(port: proxy.outbound)
        let start = ContinuousClock.now
        connection.send(Self.preface + Self.settings)
        let received = connection.readAllBytes()
        let elapsed = ContinuousClock.now - start
        #expect(Self.frameTypes(received).first == 4, "the server speaks first with SETTINGS")
        #expect(Self.frameTypes(received).contains(7), "GOAWAY before the close: \(Self.frameTypes(received))")
        #expect(elapsed > .milliseconds(900) && elapsed < .seconds(8), "closed after \(elapsed)")
    }

    @Test func malformedFramesGetGoAwayAndTheProxyCarriesOn() async throws {
        let app = try await FixtureServer("h2_server.py", name: "after-bad")
        let proxy = try await HeddleProxyProcess(config: Config.proxy() + Config.service("app", [app.address], extra: "protocol: http2"))
        let garbage: [[UInt8]] = [
            // A DATA frame on stream 0.
            [0, 0, 1, 0, 0, 0, 0, 0, 0, 0x41],
            // A HEADERS frame whose block is not valid HPACK.
            [0, 0, 3, 1, 5, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF],
            // A frame longer than the 16 KiB maximum.
            [0x01, 0x00, 0x00, 0, 0, 0, 0, 0, 1],
        ]
        for frame in garbage {
            let connection = try RawConnection(port: proxy.outbound)
            connection.send(Self.preface + Self.settings + frame)
            let types = Self.frameTypes(connection.readAllBytes())
            #expect(types.contains(7), "GOAWAY for \(frame): \(types)")
        }
        let hello = try await Self.h2(proxy.outbound, "app", "/hello")
        #expect(hello[0]["body"] as? String == "hello from after-bad over h2\n")
    }

    @Test func sigtermLetsAnInFlightStreamFinishThenExitsZero() async throws {
        let app = try await FixtureServer("h2_server.py", name: "drain-h2")
        let proxy = try await HeddleProxyProcess(config: Config.proxy("drainGracePeriod: 10s") + Config.service("app", [app.address], extra: "protocol: http2"))
        let port = proxy.outbound
        // curl (nghttp2) honours a graceful GOAWAY; the Python h2 library treats any GOAWAY as
        // the end of the connection.
        async let response = Task.detached {
            try curl(["--http2-prior-knowledge", "-H", "Host: app", "-w", " %{http_version} %{http_code}", "http://127.0.0.1:\(port)/slow/1500"])
        }.value
        // SIGTERM once the stream is in flight (its connection is counted).
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if (try? proxyMetrics(proxy))?.contains("heddle_downstream_connections 1") == true { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(200))
        proxy.child.signal(SIGTERM)
        let result = try await response
        #expect(result.output == "slow from drain-h2\n 2 200", "\(result)")
        #expect(await proxy.child.waitForExit(timeout: .seconds(15)) == 0)
    }
}
