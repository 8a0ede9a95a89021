import HeddleCore
import NIOCore
import NIOEmbedded
import Testing

@testable import HeddleProxy

/// `ProtocolDetectionHandler`: the verdict on a connection's first bytes, and the handler it
/// puts in its place.
@Suite("Protocol detection")
struct ProtocolDetectionTests {
    typealias Verdict = ProtocolDetectionHandler.Verdict

    func classify(_ bytes: [UInt8]) -> Verdict {
        bytes.withUnsafeBytes { ProtocolDetectionHandler.classify($0) }
    }

    func classify(_ text: String) -> Verdict {
        classify(Array(text.utf8))
    }

    @Test("A method token and a space is HTTP/1", arguments: [
        "GET /",
        "GET / HTTP/1.1\r\nHost: web\r\n\r\n",
        "POST ",
        "DELETE /x HTTP/1.1\r\n",
        "M-SEARCH * HTTP/1.1\r\n",
        "A ",
    ])
    func http(text: String) {
        #expect(classify(text) == .http1)
    }

    // The HTTP/2 preface in full is covered by `HTTP2DetectionTests`.

    @Test("'PRI * HTTP/2.0' waits for the rest of the HTTP/2 preface; a line that departs from it is HTTP/1")
    func http2PrefaceRequestLine() {
        #expect(classify("PRI * HTTP/2.0") == .needMoreBytes)
        #expect(classify("PRI * HTTP/2.0\r\n") == .needMoreBytes)
        #expect(classify("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n") == .http1)
        #expect(classify("PRI /x HTTP/1.1\r\n") == .http1)
    }

    @Test("A TLS ClientHello is TCP")
    func tlsClientHello() {
        #expect(classify([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03]) == .tcp)
        #expect(classify([0x16]) == .tcp)
    }

    @Test("An SSH banner is TCP as soon as its digit arrives")
    func sshBanner() {
        #expect(classify("SSH-2.0-OpenSSH_9.6\r\n") == .tcp)
        #expect(classify("SSH-") == .needMoreBytes)
    }

    @Test("Methods are case-sensitive: lowercase 'get /' is TCP")
    func lowercaseMethod() {
        #expect(classify("get /") == .tcp)
    }

    @Test("A leading space is TCP (no method token before it)")
    func leadingSpace() {
        #expect(classify(" GET /") == .tcp)
    }

    @Test("A partial method needs more bytes", arguments: ["G", "GE", "GET", "PRI", "M-SEARCH"])
    func partial(text: String) {
        #expect(classify(text) == .needMoreBytes)
    }

    @Test("Nothing yet needs more bytes")
    func empty() {
        #expect(classify([]) == .needMoreBytes)
    }

    @Test("24 uppercase letters without a space is TCP; 23 still need more bytes")
    func longToken() {
        #expect(classify(String(repeating: "A", count: 24)) == .tcp)
        #expect(classify(String(repeating: "A", count: 25)) == .tcp)
        #expect(classify(String(repeating: "A", count: 23)) == .needMoreBytes)
        #expect(classify(String(repeating: "A", count: 23) + " ") == .http1)
    }

    @Test("A control byte or NUL is TCP", arguments: [[0x00], [0x47, 0x0D], [0x47, 0x45, 0x54, 0x09]] as [[UInt8]])
    func controlBytes(bytes: [UInt8]) {
        #expect(classify(bytes) == .tcp)
    }

    // MARK: - In a pipeline

    /// A detection handler on an embedded channel, for a config with one service and no
    /// routes.
    func makeHarness(tcpService: String?) throws -> EmbeddedProxy {
        try EmbeddedProxy { context in
            ProtocolDetectionHandler(loop: context, listener: "outbound", tcpService: tcpService, logger: quietLogger)
        }
    }

    @Test("HTTP bytes go to the HTTP/1 handler, which receives the bytes detection buffered")
    func handsBytesToHTTPHandler() throws {
        let harness = try makeHarness(tcpService: nil)
        defer { harness.finish() }
        try harness.channel.writeInbound(ByteBuffer(string: "GE"))
        #expect(harness.has(ProtocolDetectionHandler.self))
        try harness.channel.writeInbound(ByteBuffer(string: "T / HTTP/1.1\r\nHost: nowhere\r\n\r\n"))
        #expect(!harness.has(ProtocolDetectionHandler.self))
        #expect(harness.has(HTTP1ProxyHandler.self))
        // Both reads reached the HTTP handler as one request: no service is named `nowhere`.
        let response = try harness.outboundText()
        #expect(response.hasPrefix("HTTP/1.1 404 Not Found\r\n"))
        #expect(response.contains("\r\nheddle-error: no-route\r\n"))
        #expect(response.contains("no route for host 'nowhere' path '/'"))
    }

    @Test("Non-HTTP bytes without a TCP service go to the HTTP/1 handler, which refuses them")
    func nonHTTPWithoutTCPService() throws {
        let harness = try makeHarness(tcpService: nil)
        defer { harness.finish() }
        try harness.channel.writeInbound(ByteBuffer(bytes: [0x16, 0x03, 0x01, 0x00, 0x05]))
        #expect(!harness.has(ProtocolDetectionHandler.self))
        let response = try harness.outboundText()
        #expect(response.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        #expect(response.contains("\r\nheddle-error: bad-request\r\n"))
    }

    @Test("A silent connection is handed to HTTP/1 when the detection timeout passes, with no TCP service")
    func timeoutWithoutTCPService() throws {
        let harness = try makeHarness(tcpService: nil)
        defer { harness.finish() }
        harness.loop.advanceTime(by: .milliseconds(999))
        #expect(harness.has(ProtocolDetectionHandler.self))
        harness.loop.advanceTime(by: .milliseconds(1))
        #expect(!harness.has(ProtocolDetectionHandler.self))
        #expect(harness.has(HTTP1ProxyHandler.self))
        #expect(try harness.outboundText().isEmpty)
    }

    @Test("A decision cancels the detection timer, so it never decides twice")
    func decisionCancelsTimer() throws {
        let harness = try makeHarness(tcpService: nil)
        defer { harness.finish() }
        try harness.channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: nowhere\r\n\r\n"))
        _ = try harness.outboundText()
        harness.loop.advanceTime(by: .seconds(5))
        #expect(!harness.has(ProtocolDetectionHandler.self))
        #expect(try harness.outboundText().isEmpty)
        #expect(harness.context.sweeper.count == 1, "exactly one HTTP/1 handler was installed")
    }
}
