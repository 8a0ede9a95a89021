import HeddleCore
import NIOCore
import NIOEmbedded
import Testing

@testable import HeddleProxy

/// What an HTTP probe makes of the bytes it gets back, and which probe a service's check uses.
@Suite("HealthProbeOutcome")
struct HealthProbeOutcomeTests {
    func outcome(_ text: String) -> HealthProbeOutcome? {
        HealthProbeOutcome.http1Response(ByteBuffer(string: text))
    }

    @Test("A 2xx status passes; any other final status fails")
    func statuses() {
        #expect(outcome("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok") == .passed("status 200"))
        #expect(outcome("HTTP/1.1 204 No Content\r\n\r\n") == .passed("status 204"))
        #expect(outcome("HTTP/1.0 200 OK\r\n\r\n") == .passed("status 200"))
        #expect(outcome("HTTP/1.1 301 Moved\r\nlocation: /x\r\n\r\n") == .failed("status 301"))
        #expect(outcome("HTTP/1.1 404 Not Found\r\n\r\n") == .failed("status 404"))
        #expect(outcome("HTTP/1.1 503 Unavailable\r\n\r\n") == .failed("status 503"))
        #expect(outcome("HTTP/1.1 101 Switching Protocols\r\nupgrade: x\r\nconnection: upgrade\r\n\r\n") == .failed("status 101"))
    }

    @Test("An incomplete head waits for more bytes")
    func incomplete() {
        #expect(outcome("") == nil)
        #expect(outcome("HTTP/1.1 2") == nil)
        #expect(outcome("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n") == nil)
    }

    @Test("Interim responses are skipped")
    func interim() {
        #expect(outcome("HTTP/1.1 100 Continue\r\n\r\n") == nil)
        #expect(outcome("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n") == .passed("status 200"))
        #expect(outcome("HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 500 Oops\r\n\r\n") == .failed("status 500"))
    }

    @Test("Bytes that are not an HTTP/1.1 response fail")
    func garbage() {
        #expect(outcome("SSH-2.0-OpenSSH_9.6\r\n\r\n")?.passed == false)
        #expect(outcome("\u{16}\u{03}\u{01}\u{02}")?.passed == false)
        #expect(outcome("HTTP/1.1 200 OK\r\nbad header\r\n\r\n")?.passed == false)
        #expect(outcome("HTTP/2.0 200 OK\r\n\r\n")?.passed == false)
    }

    @Test("HTTP/2 statuses follow the same rule")
    func http2Status() {
        #expect(HealthProbeOutcome.status(200).passed)
        #expect(HealthProbeOutcome.status(299).passed)
        #expect(!HealthProbeOutcome.status(300).passed)
        #expect(!HealthProbeOutcome.status(199).passed)
    }

    @Test("An http check speaks the service's protocol; a tcp check only connects")
    func probeKinds() {
        #expect(HealthCheckedService.kind(.http(path: "/h"), protocol: .http1) == .http1(path: "/h"))
        #expect(HealthCheckedService.kind(.http(path: "/h"), protocol: .http2) == .http2(path: "/h"))
        #expect(HealthCheckedService.kind(.http(path: "/h"), protocol: .grpc) == .http2(path: "/h"))
        #expect(HealthCheckedService.kind(.tcp, protocol: .http1) == .tcp)
        #expect(HealthCheckedService.kind(.tcp, protocol: .tcp) == .tcp)
    }

    @Test("The HTTP/1.1 request names the service and closes the connection")
    func request() throws {
        let endpoint = ResolvedEndpoint(address: try SocketAddress(ipAddress: "127.0.0.1", port: 8080), weight: 1, configured: HostPort(host: "127.0.0.1", port: 8080))
        let target = HealthProbeTarget(service: "shop", endpoint: endpoint, kind: .http1(path: "/healthz?deep=1"), timeout: .seconds(1))
        let probe = HealthProbe(target: target, eventLoop: EmbeddedEventLoop())
        #expect(String(buffer: probe.http1Request) == "GET /healthz?deep=1 HTTP/1.1\r\nHost: shop\r\nUser-Agent: heddle-health-check\r\nConnection: close\r\n\r\n")
        probe.finish(.failed("unused"))
    }
}
