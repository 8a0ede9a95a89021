import NIOCore
import Testing

@testable import HeddleHTTP1

@Suite("HTTP1Head")
struct HTTP1HeadTests {
    @Test func comparesBytesIgnoringCaseWithoutAllocating() throws {
        let head = try requestHead("GET / HTTP/1.1\r\nHost: a\r\nX-Route-Key: Blue\r\n\r\n")
        let field = try #require(head.field(named: "x-route-key"))
        #expect(head.bytesEqual(field.name, lowercaseASCII: "x-route-key"))
        #expect(head.bytesEqual(field.value, lowercaseASCII: "blue"))
        #expect(!head.bytesEqual(field.value, lowercaseASCII: "blu"))
        #expect(!head.bytesEqual(field.value, lowercaseASCII: "bluE"))
        #expect(!head.bytesEqual(0..<10_000, lowercaseASCII: "x"))
        #expect(!head.bytesEqual(-1..<0, lowercaseASCII: ""))
    }

    @Test func findsFieldsByName() throws {
        let head = try requestHead("GET / HTTP/1.1\r\nHost: a\r\nAccept: x\r\nACCEPT: y\r\n\r\n")
        #expect(head.value(forLowercasedName: "accept") == "x")
        #expect(head.value(forLowercasedName: "host") == "a")
        #expect(head.value(forLowercasedName: "missing") == nil)
        #expect(head.field(named: "accep") == nil)
    }

    @Test func readsRangesSafely() throws {
        let head = try requestHead("GET /p HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(head.string(head.targetRange) == "/p")
        #expect(head.string(100..<200) == "")
        #expect(head.slice(head.methodRange) == buffer("GET"))
        #expect(head.slice(100..<200).readableBytes == 0)
    }

    @Test(arguments: [
        ("Connection", true),
        ("Keep-Alive", true),
        ("Proxy-Connection", true),
        ("TE", true),
        ("Upgrade", true),
        ("X-Named", true),
        ("x-also", true),
        ("Transfer-Encoding", false),
        ("Host", false),
        ("Trailer", false),
        ("Accept", false),
        ("X-Name", false),
    ])
    func classifiesHopByHopFields(name: String, hopByHop: Bool) throws {
        let head = try requestHead("""
            POST / HTTP/1.1\r
            Host: a\r
            Connection: X-Named, host, transfer-encoding\r
            Connection: X-ALSO\r
            Keep-Alive: 1\r
            Proxy-Connection: 1\r
            TE: trailers\r
            Upgrade: h2c\r
            X-Named: 1\r
            x-also: 1\r
            Transfer-Encoding: chunked\r
            Trailer: X-Sum\r
            Accept: 1\r
            X-Name: 1\r
            \r

            """)
        let field = try #require(head.field(named: name.lowercased()))
        #expect(head.isHopByHop(field) == hopByHop)
    }

    @Test func neverTreatsContentLengthAsHopByHop() throws {
        let head = try requestHead("POST / HTTP/1.1\r\nHost: a\r\nConnection: content-length\r\nContent-Length: 1\r\n\r\n")
        let field = try #require(head.field(named: "content-length"))
        #expect(!head.isHopByHop(field))
    }

    @Test func exposesResponseParts() throws {
        let head = try responseHead("HTTP/1.0 503 Service Unavailable\r\nRetry-After: 1\r\n\r\n")
        #expect(head.kind == .response)
        #expect(head.version == .http1_0)
        #expect(head.statusCode == 503)
        #expect(head.reason == "Service Unavailable")
        #expect(head.method == "")
        #expect(head.target == "")
        #expect(head.host == nil)
        #expect(head.bodyFraming == .untilClose)
        #expect(!head.keepAlive)
    }
}
