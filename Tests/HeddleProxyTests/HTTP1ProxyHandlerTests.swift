import HeddleHTTP1
import NIOCore
import NIOEmbedded
import Testing

@testable import HeddleProxy

/// `HTTP1ProxyHandler` on an embedded channel, for the exchanges it answers itself (an
/// embedded loop cannot open upstream connections): the error responses must frame correctly
/// for the request they answer, so a kept-alive connection stays in step.
@Suite("HTTP1ProxyHandler (proxy-made responses)")
struct HTTP1ProxyHandlerTests {
    func makeProxy() throws -> EmbeddedProxy {
        try EmbeddedProxy { context in
            HTTP1ProxyHandler(loop: context, listener: "outbound", logger: quietLogger)
        }
    }

    /// Parses every response in `buffer`, each as the answer to the next of `methods`; records
    /// an issue if bytes are left over or a response does not parse.
    func responses(
        in buffer: ByteBuffer, answering methods: [HTTPMethodKind], sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [HTTP1Head] {
        var rest = buffer
        var heads: [HTTP1Head] = []
        for method in methods {
            let (head, consumed) = try parsedResponse(rest, requestMethod: method, sourceLocation: sourceLocation)
            rest.moveReaderIndex(forwardBy: consumed)
            if case .contentLength(let length) = head.bodyFraming {
                rest.moveReaderIndex(forwardBy: min(Int(length), rest.readableBytes))
            }
            heads.append(head)
        }
        #expect(rest.readableBytes == 0, "bytes after the last response: \(String(buffer: rest).debugDescription)", sourceLocation: sourceLocation)
        return heads
    }

    @Test("A request with no route is answered 404 no-route and the connection stays open for the next")
    func noRouteKeepsAlive() throws {
        let proxy = try makeProxy()
        defer { proxy.finish() }
        try proxy.send("GET /a HTTP/1.1\r\nHost: nowhere\r\n\r\nGET /b HTTP/1.1\r\nHost: nowhere\r\n\r\n")
        let heads = try responses(in: try proxy.written(), answering: [.get, .get])
        #expect(heads.map(\.statusCode) == [404, 404])
        #expect(heads.map { $0.values("heddle-error") } == [["no-route"], ["no-route"]])
        #expect(heads.map(\.keepAlive) == [true, true])
        #expect(proxy.channel.isActive)
    }

    @Test("An error response to HEAD has no body, so the next response on the connection is intact")
    func headErrorHasNoBody() throws {
        let proxy = try makeProxy()
        defer { proxy.finish() }
        try proxy.send("HEAD /a HTTP/1.1\r\nHost: nowhere\r\n\r\nGET /b HTTP/1.1\r\nHost: nowhere\r\n\r\n")
        // RFC 9110 §9.3.2: a response to HEAD carries no content. A client reads the HEAD
        // response's head only; any body bytes would be taken as the start of the next
        // response.
        var written = try proxy.written()
        let (first, consumed) = try parsedResponse(written, requestMethod: .head)
        #expect(first.statusCode == 404)
        #expect(first.values("heddle-error") == ["no-route"])
        written.moveReaderIndex(forwardBy: consumed)
        let rest = String(buffer: written)
        #expect(rest.hasPrefix("HTTP/1.1 404 "), "the HEAD response's head is followed by \(rest.prefix(60).debugDescription), not the next response")
    }

    @Test("A malformed request is answered 400 with Connection: close")
    func malformedRequest() throws {
        let proxy = try makeProxy()
        defer { proxy.finish() }
        try proxy.send("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
        let heads = try responses(in: try proxy.written(), answering: [.get])
        #expect(heads.first?.statusCode == 400)
        #expect(heads.first?.values("heddle-error") == ["bad-request"])
        #expect(heads.first?.values("connection") == ["close"])
    }

    @Test("CONNECT is answered 501 not-implemented")
    func connectRefused() throws {
        let proxy = try makeProxy()
        defer { proxy.finish() }
        try proxy.send("CONNECT web:443 HTTP/1.1\r\nHost: web:443\r\n\r\n")
        let heads = try responses(in: try proxy.written(), answering: [.get])
        #expect(heads.first?.statusCode == 501)
        #expect(heads.first?.values("heddle-error") == ["not-implemented"])
        #expect(heads.first?.values("connection") == ["close"])
    }

    @Test("A service without endpoints is answered 503 no-endpoints")
    func noEndpoints() throws {
        let proxy = try makeProxy()
        defer { proxy.finish() }
        try proxy.send("GET / HTTP/1.1\r\nHost: web\r\n\r\n")
        let heads = try responses(in: try proxy.written(), answering: [.get])
        #expect(heads.first?.statusCode == 503)
        #expect(heads.first?.values("heddle-error") == ["no-endpoints"])
    }
}
