import Foundation
import Testing

/// Requests through the real `heddle` binary to real upstreams: host and proxy-form routing,
/// keep-alive, weighted splits, header routes and rewrites.
@Suite(.serialized)
struct RoutingTests {
    @Test func routesByHostHeaderAndAsHTTPProxy() async throws {
        let app = try await Upstream(.http, name: "web-1")
        let proxy = try await HeddleProxyProcess(config: Config.proxy() + Config.service("web", [app.address]))
        let byHost = try curl(["-H", "Host: web", "http://127.0.0.1:\(proxy.outbound)/hello"])
        #expect(byHost.output == "hello from web-1\n")
        let asProxy = try curl(["-x", "http://127.0.0.1:\(proxy.outbound)", "http://web/hello"])
        #expect(asProxy.output == "hello from web-1\n")
        let withPort = try curl(["-x", "http://127.0.0.1:\(proxy.outbound)", "http://WEB:8080/hello"])
        #expect(withPort.output == "hello from web-1\n")
    }

    @Test func endpointsMayBeDNSNames() async throws {
        let app = try await Upstream(.http, name: "by-name")
        let proxy = try await HeddleProxyProcess(config: Config.proxy() + Config.service("named", ["localhost:\(app.port)"]))
        #expect(try curl(["-H", "Host: named", "http://127.0.0.1:\(proxy.outbound)/hello"]).output == "hello from by-name\n")
        let config = try curl(["http://127.0.0.1:\(proxy.admin)/config"]).output
        #expect(config.contains("localhost:\(app.port)"))
    }

    @Test func keepAliveConnectionCarriesManyRequests() async throws {
        let app = try await Upstream(.http, name: "ka")
        let proxy = try await HeddleProxyProcess(config: Config.proxy() + Config.service("web", [app.address]))
        let connection = try RawConnection(port: proxy.outbound)
        for index in 0..<50 {
            connection.send("GET /hello?n=\(index) HTTP/1.1\r\nHost: web\r\n\r\n")
            let response = try connection.readResponse(checkClosed: false)
            #expect(response.status == 200)
            #expect(response.body == "hello from ka\n")
        }
        // Pipelined: three requests in one write, three responses in order.
        connection.send("GET /hello HTTP/1.1\r\nHost: web\r\n\r\nGET /slow/50 HTTP/1.1\r\nHost: web\r\n\r\nGET /hello HTTP/1.1\r\nHost: web\r\n\r\n")
        let first = try connection.readResponse(checkClosed: false)
        let second = try connection.readResponse(checkClosed: false)
        let third = try connection.readResponse(checkClosed: false)
        #expect([first.body, second.body, third.body] == ["hello from ka\n", "slow from ka\n", "hello from ka\n"])
    }

    @Test func aPooledConnectionClosedAsItIsReusedIsRetriedOnANewOne() async throws {
        let app = try await Upstream(.http, name: "dropper")
        let proxy = try await HeddleProxyProcess(config: Config.proxy() + Config.service("web", [app.address]))
        let base = "http://127.0.0.1:\(proxy.outbound)"
        #expect(try curl(["-H", "Host: web", "\(base)/then-drop"]).output == "dropping the next request\n")
        // The proxy reuses the pooled connection; the app reads the request and closes.
        #expect(try curl(["-H", "Host: web", "\(base)/hello"]).output == "hello from dropper\n")
        // Not for a request with a body: it is not replayed.
        _ = try curl(["-H", "Host: web", "\(base)/then-drop"])
        let post = try curl(["-H", "Host: web", "-d", "x=1", "-o", "/dev/null", "-w", "%{http_code}", "\(base)/count"]).output
        #expect(post == "502")
    }

    @Test func emptyBodiesKeepTheConnectionAlive() async throws {
        let app = try await Upstream(.http, name: "empty-body")
        let proxy = try await HeddleProxyProcess(config: Config.proxy() + Config.service("web", [app.address]))
        let connection = try RawConnection(port: proxy.outbound)
        for _ in 0..<3 {
            connection.send("POST /count HTTP/1.1\r\nHost: web\r\nContent-Length: 0\r\n\r\n")
            let response = try connection.readResponse()
            #expect(response.body == "0\n")
            #expect(!response.closed, "a Content-Length: 0 request must not end the connection")
        }
        let metrics = try curl(["http://127.0.0.1:\(proxy.admin)/metrics"]).output
        #expect(metrics.contains("heddle_downstream_connections 1.0"))
    }

    @Test func earlyResponseToAnUploadReachesTheClient() async throws {
        let app = try await Upstream(.http, name: "early")
        let proxy = try await HeddleProxyProcess(config: Config.proxy() + Config.service("web", [app.address]))
        let file = "\(TestSupport.scratchDirectory())/upload-8m"
        if !FileManager.default.fileExists(atPath: file) {
            try Data(repeating: 0x62, count: 8 * 1024 * 1024).write(to: URL(fileURLWithPath: file))
        }
        let result = try curl(["-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: web", "--data-binary", "@\(file)", "http://127.0.0.1:\(proxy.outbound)/early"])
        #expect(result.output == "413")
    }

    @Test func weightedSplitNinetyTenOverThousandRequests() async throws {
        let stable = try await Upstream(.http, name: "stable")
        let canary = try await Upstream(.http, name: "canary")
        let config = Config.proxy()
            + Config.service("app-stable", [stable.address])
            + Config.service("app-canary", [canary.address])
            + Config.route("app", """
                hostnames: [app]
                rules:
                  - backendRefs:
                      - name: app-stable
                        weight: 90
                      - name: app-canary
                        weight: 10
                """)
        let proxy = try await HeddleProxyProcess(config: config)
        let connection = try RawConnection(port: proxy.outbound)
        var counts: [String: Int] = [:]
        for _ in 0..<1000 {
            connection.send("GET /hello HTTP/1.1\r\nHost: app\r\n\r\n")
            let response = try connection.readResponse(checkClosed: false)
            counts[response.headers["x-served-by"] ?? "none", default: 0] += 1
        }
        let canaryShare = Double(counts["canary", default: 0]) / 1000
        #expect(abs(canaryShare - 0.10) <= 0.03, "canary got \(counts)")
        #expect(counts["stable", default: 0] + counts["canary", default: 0] == 1000)
    }

    @Test func headerMatchPathRewriteAndHeaderFilters() async throws {
        let v1 = try await Upstream(.http, name: "v1")
        let v2 = try await Upstream(.http, name: "v2")
        let config = Config.proxy()
            + Config.service("api-v1", [v1.address])
            + Config.service("api-v2", [v2.address])
            + Config.route("api", """
                hostnames: [api.example.com]
                rules:
                  - matches:
                      - headers:
                          - name: x-version
                            value: "2"
                    backendRefs:
                      - name: api-v2
                  - matches:
                      - path:
                          type: PathPrefix
                          value: /old
                    filters:
                      - type: URLRewrite
                        urlRewrite:
                          path:
                            type: ReplacePrefixMatch
                            replacePrefixMatch: /headers
                      - type: RequestHeaderModifier
                        requestHeaderModifier:
                          add:
                            - name: x-added
                              value: by-heddle
                          remove: [x-secret]
                      - type: ResponseHeaderModifier
                        responseHeaderModifier:
                          set:
                            - name: x-route
                              value: old
                    backendRefs:
                      - name: api-v1
                  - backendRefs:
                      - name: api-v1
                """)
        let proxy = try await HeddleProxyProcess(config: config)
        let base = "http://127.0.0.1:\(proxy.outbound)"
        #expect(try curl(["-H", "Host: api.example.com", "-H", "x-version: 2", "\(base)/hello"]).output == "hello from v2\n")
        #expect(try curl(["-H", "Host: api.example.com", "\(base)/hello"]).output == "hello from v1\n")
        let rewritten = try curl(["-i", "-H", "Host: api.example.com", "-H", "x-secret: hunter2", "\(base)/old?q=1"]).output
        #expect(rewritten.contains("GET /headers?q=1 HTTP/1.1"))
        #expect(rewritten.contains("x-added: by-heddle"))
        #expect(!rewritten.contains("hunter2"))
        #expect(rewritten.lowercased().contains("x-route: old"))
    }
}
