import HeddleCore
import NIOCore
import NIOEmbedded
import Testing

@testable import HeddleProxy

/// The HTTP/2 client preface on an auto-detecting listener: recognised whole, waited for while
/// partial, and handed to the HTTP/2 pipeline with the bytes detection buffered.
@Suite("HTTP/2 preface detection")
struct HTTP2DetectionTests {
    typealias Verdict = ProtocolDetectionHandler.Verdict
    static let preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

    func classify(_ text: String) -> Verdict {
        Array(text.utf8).withUnsafeBytes { ProtocolDetectionHandler.classify($0) }
    }

    @Test("Every proper prefix of the preface needs more bytes")
    func prefixes() {
        let bytes = Array(Self.preface.utf8)
        for length in 1..<bytes.count {
            let verdict = bytes.prefix(length).withUnsafeBytes { ProtocolDetectionHandler.classify($0) }
            #expect(verdict == .needMoreBytes, "\(length) bytes")
        }
    }

    @Test("The whole preface, alone or followed by frames, is HTTP/2")
    func whole() {
        #expect(classify(Self.preface) == .http2)
        #expect(classify(Self.preface + "\u{0}\u{0}\u{0}\u{4}\u{0}") == .http2)
    }

    @Test("A PRI request that is not the preface is HTTP/1 (answered by the HTTP/1 handler)")
    func priOverHTTP1() {
        #expect(classify("PRI * HTTP/1.1\r\n") == .http1)
        #expect(classify("PRI /x HTTP/1.1\r\n") == .http1)
    }

    @Test("The preface in two reads installs the HTTP/2 pipeline, which answers with SETTINGS")
    func handsPrefaceToHTTP2() throws {
        let harness = try EmbeddedProxy { context in
            ProtocolDetectionHandler(loop: context, listener: "outbound", tcpService: nil, logger: quietLogger)
        }
        defer { harness.finish() }
        try harness.channel.writeInbound(ByteBuffer(string: String(Self.preface.prefix(10))))
        #expect(harness.has(ProtocolDetectionHandler.self))
        try harness.channel.writeInbound(ByteBuffer(string: String(Self.preface.dropFirst(10))))
        #expect(!harness.has(ProtocolDetectionHandler.self))
        #expect(harness.has(HTTP2ServerConnectionHandler.self))
        #expect(!harness.has(HTTP1ProxyHandler.self))
        // Flushes are coalesced to the end of the event-loop tick.
        harness.loop.run()
        var written = ByteBuffer()
        while var buffer = try harness.channel.readOutbound(as: ByteBuffer.self) { written.writeBuffer(&buffer) }
        // The server's first frame is SETTINGS (type 4) on stream 0.
        #expect(written.readableBytes >= 9)
        #expect(written.getInteger(at: written.readerIndex + 3, as: UInt8.self) == 4)
        #expect(written.getInteger(at: written.readerIndex + 5, as: UInt32.self) == 0)
        #expect(harness.context.activeConnections == 1)
    }
}
