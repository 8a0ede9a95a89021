import Foundation
import Testing

/// Every `heddle-error` reason produced for real, with its status and `Proxy-Status`.
@Suite(.serialized)
struct ErrorReasonTests {
    /// Sends one request on a fresh connection and returns the response.
    func request(_ port: Int, _ text: String) throws -> RawResponse {
        let connection = try RawConnection(port: port)
        connection.send(text)
        return try connection.readResponse()
    }

    @Test func upstreamFailuresNameTheirReason() async throws {
        let app = try await Upstream(.http, name: "err")
        let backlog = try await Upstream(.backlog, name: "backlog")
        let closedPort = try await Self.closedPort()
        let config = Config.proxy("""
            requestTimeout: 1s
            connectTimeout: 500ms
            """)
            + Config.service("app", [app.address])
            + Config.service("down", ["127.0.0.1:\(closedPort)"])
            + Config.service("stuck", [backlog.address])
            + Config.service("empty", [])
            + Config.service("unknown", ["no-such-host.invalid:80"])
            + Config.route("weights", """
                hostnames: [nothing]
                rules:
                  - backendRefs:
                      - name: app
                        weight: 0
                      - name: empty
                """)
        let proxy = try await HeddleProxyProcess(config: config)
        let cases: [(host: String, path: String, status: Int, reason: String, proxyStatus: String)] = [
            ("nowhere", "/", 404, "no-route", "destination_not_found"),
            ("empty", "/", 503, "no-endpoints", "destination_unavailable"),
            ("nothing", "/", 503, "no-endpoints", "destination_unavailable"),
            ("unknown", "/", 503, "dns-failed", "dns_error"),
            ("down", "/", 502, "connect-failed", "connection_refused"),
            ("stuck", "/", 504, "connect-timeout", "connection_timeout"),
            ("app", "/close", 502, "upstream-reset", "connection_terminated"),
            ("app", "/hang", 504, "upstream-timeout", "http_response_timeout"),
            ("app", "/garbage", 502, "upstream-protocol-error", "http_protocol_error"),
        ]
        for item in cases {
            let response = try request(proxy.outbound, "GET \(item.path) HTTP/1.1\r\nHost: \(item.host)\r\n\r\n")
            #expect(response.status == item.status, "\(item.host)\(item.path): \(response.raw)")
            #expect(response.headers["heddle-error"] == item.reason, "\(item.host)\(item.path): \(response.raw)")
            #expect(response.headers["proxy-status"]?.hasPrefix("heddle; error=\(item.proxyStatus); details=\"") == true, "\(response.raw)")
            #expect(response.body.hasPrefix("heddle: \(item.reason): "))
        }
        let metrics = try curl(["http://127.0.0.1:\(proxy.admin)/metrics"]).output
        for item in cases {
            #expect(metrics.contains("heddle_proxy_errors_total{reason=\"\(item.reason)\"}"))
        }
        #expect(!metrics.contains("heddle_proxy_errors_total{reason=\"no-route\"} 0"))
        let log = proxy.child.stderr
        #expect(log.contains("heddle_error=connect-failed"))
        #expect(log.contains("heddle_error=upstream-timeout"))
    }

    @Test func aStalledResponseBodyIsCutAfterTheIdleTimeout() async throws {
        let app = try await Upstream(.http, name: "stall")
        let proxy = try await HeddleProxyProcess(config: Config.proxy("idleTimeout: 1s") + Config.service("app", [app.address]))
        let connection = try RawConnection(port: proxy.outbound)
        connection.send("GET /stall HTTP/1.1\r\nHost: app\r\n\r\n")
        let started = ContinuousClock.now
        let received = connection.readAll()
        #expect(received.hasPrefix("HTTP/1.1 200 OK"))
        #expect(received.hasSuffix(String(repeating: "x", count: 10)), "the partial body is passed on, then the connection closes")
        #expect(ContinuousClock.now - started < .seconds(8), "closed by the proxy, not by the client's 10 s read timeout")
        let metrics = try curl(["http://127.0.0.1:\(proxy.admin)/metrics"]).output
        #expect(metrics.contains("heddle_proxy_errors_total{reason=\"upstream-timeout\"} 1"))
    }

    @Test func clientErrorsNameTheirReasonAndClose() async throws {
        let app = try await Upstream(.http, name: "client-errors")
        let proxy = try await HeddleProxyProcess(config: Config.proxy("""
            maxHeadBytes: 2048
            headerReadTimeout: 1s
            """) + Config.service("app", [app.address]))
        let huge = "GET / HTTP/1.1\r\nHost: app\r\nx-big: \(String(repeating: "a", count: 4000))\r\n\r\n"
        let tooLarge = try request(proxy.outbound, huge)
        #expect(tooLarge.status == 431)
        #expect(tooLarge.headers["heddle-error"] == "headers-too-large")
        #expect(tooLarge.closed)

        let version = try request(proxy.outbound, "GET / HTTP/3.0\r\nHost: app\r\n\r\n")
        #expect(version.status == 505)
        #expect(version.headers["heddle-error"] == "unsupported-version")

        // Slowloris: half a head, then silence; answered 408 and closed after the timeout.
        let slow = try RawConnection(port: proxy.outbound)
        slow.send("GET / HTTP/1.1\r\nHost: app\r\n")
        let timedOut = try slow.readResponse()
        #expect(timedOut.status == 408)
        #expect(timedOut.headers["heddle-error"] == "request-header-timeout")
        #expect(timedOut.closed)
    }

    /// A free port with nothing listening on it.
    static func closedPort() async throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
