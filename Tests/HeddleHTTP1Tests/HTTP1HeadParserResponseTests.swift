import NIOCore
import Testing

@testable import HeddleHTTP1

@Suite("HTTP1HeadParser: responses")
struct HTTP1HeadParserResponseTests {
    @Test func parsesAResponse() throws {
        let text = "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nServer: x\r\n\r\n"
        let result = parseResponse(text + "not found")
        let head = try #require(result.head)
        #expect(result.consumed == text.utf8.count)
        #expect(head.kind == .response)
        #expect(head.version == .http1_1)
        #expect(head.statusCode == 404)
        #expect(head.reason == "Not Found")
        #expect(head.methodKind == .get)
        #expect(head.bodyFraming == .contentLength(9))
        #expect(head.keepAlive)
        #expect(!head.isInterim)
        #expect(!head.isUpgrade)
        #expect(head.fieldNames == ["Content-Length", "Server"])
        #expect(head.hostRange == nil)
    }

    @Test(arguments: [
        ("HTTP/1.1 200\r\n\r\n", ""),
        ("HTTP/1.1 200 \r\n\r\n", ""),
        ("HTTP/1.1 200 O K \t\r\n\r\n", "O K \t"),
        ("HTTP/1.1 200 d\u{E9}j\u{E0}\r\n\r\n", "d\u{E9}j\u{E0}"),
    ])
    func parsesReasonPhrases(text: String, reason: String) throws {
        #expect(try responseHead(text).reason == reason)
    }

    @Test(arguments: [
        // status, method, fields, framing, keep-alive
        (200, HTTPMethodKind.get, "Content-Length: 5\r\n", HTTP1BodyFraming.contentLength(5), true),
        (200, .get, "Transfer-Encoding: chunked\r\n", .chunked, true),
        (200, .get, "Transfer-Encoding: gzip, chunked\r\n", .chunked, true),
        (200, .get, "Transfer-Encoding: gzip\r\nTransfer-Encoding: Chunked\r\n", .chunked, true),
        (200, .get, "Transfer-Encoding: gzip\r\n", .untilClose, false),
        (200, .get, "", .untilClose, false),
        (200, .get, "Connection: close\r\nContent-Length: 1\r\n", .contentLength(1), false),
        (200, .head, "Content-Length: 5\r\n", HTTP1BodyFraming.none, true),
        (200, .head, "Transfer-Encoding: chunked\r\n", HTTP1BodyFraming.none, true),
        (204, .get, "", HTTP1BodyFraming.none, true),
        (304, .get, "Content-Length: 100\r\n", HTTP1BodyFraming.none, true),
        (100, .post, "", HTTP1BodyFraming.none, true),
        (103, .get, "Link: </a>\r\n", HTTP1BodyFraming.none, true),
        (101, .get, "Upgrade: websocket\r\nConnection: upgrade\r\n", HTTP1BodyFraming.none, true),
        (200, .connect, "", HTTP1BodyFraming.none, true),
        (407, .connect, "Content-Length: 5\r\n", .contentLength(5), true),
        (500, .post, "Content-Length: 0\r\n", .contentLength(0), true),
    ])
    func framingMatrix(status: Int, method: HTTPMethodKind, fields: String, framing: HTTP1BodyFraming, keepAlive: Bool) throws {
        let head = try responseHead("HTTP/1.1 \(status) X\r\n\(fields)\r\n", requestMethod: method)
        #expect(head.bodyFraming == framing)
        #expect(head.keepAlive == keepAlive)
        #expect(head.methodKind == method)
    }

    @Test(arguments: [
        (100, false, true),
        (101, true, false),
        (102, false, true),
        (199, false, true),
        (200, false, false),
    ])
    func interimAndUpgradeStatuses(status: Int, isUpgrade: Bool, isInterim: Bool) throws {
        let head = try responseHead("HTTP/1.1 \(status) X\r\n\r\n")
        #expect(head.isUpgrade == isUpgrade)
        #expect(head.isInterim == isInterim)
    }

    @Test func successfulConnectSwitchesProtocol() throws {
        #expect(try responseHead("HTTP/1.1 200 OK\r\n\r\n", requestMethod: .connect).isUpgrade)
        #expect(try !responseHead("HTTP/1.1 200 OK\r\n\r\n", requestMethod: .get).isUpgrade)
        #expect(try !responseHead("HTTP/1.1 403 No\r\nContent-Length: 0\r\n\r\n", requestMethod: .connect).isUpgrade)
    }

    @Test func parsesAnInterimResponseThenTheFinalOne() throws {
        let text = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
        var input = buffer(text)
        var parser = HTTP1HeadParser()
        var fields: [HTTP1Field] = []
        let interim = parser.parseResponse(input, requestMethod: .post, fields: &fields)
        #expect(interim.head?.isInterim == true)
        input.moveReaderIndex(forwardBy: try #require(interim.consumed))
        let final = parser.parseResponse(input, requestMethod: .post, fields: &fields)
        #expect(final.head?.statusCode == 201)
        #expect(final.consumed == input.readableBytes)
    }

    @Test(arguments: [
        ("1.0", nil, false),
        ("1.0", "keep-alive", true),
        ("1.1", nil, true),
        ("1.1", "close", false),
    ] as [(String, String?, Bool)])
    func keepAliveMatrix(version: String, connection: String?, keepAlive: Bool) throws {
        let connectionLine = connection.map { "Connection: \($0)\r\n" } ?? ""
        let head = try responseHead("HTTP/\(version) 200 OK\r\n\(connectionLine)Content-Length: 0\r\n\r\n")
        #expect(head.keepAlive == keepAlive)
    }

    @Test(arguments: [
        ("HTTP/1.1 20 OK\r\n\r\n", "invalid-status-line"),
        ("HTTP/1.1 2000 OK\r\n\r\n", "invalid-status-line"),
        ("HTTP/1.1 099 Low\r\n\r\n", "invalid-status-line"),
        ("HTTP/1.1 abc OK\r\n\r\n", "invalid-status-line"),
        ("HTTP/1.1200 OK\r\n\r\n", "invalid-status-line"),
        ("HTTP/1.1  200 OK\r\n\r\n", "invalid-status-line"),
        ("HTTP/1.1 200 O\u{0}K\r\n\r\n", "invalid-status-line"),
        ("HTTP/1.1 200 O\u{7F}K\r\n\r\n", "invalid-status-line"),
        ("http/1.1 200 OK\r\n\r\n", "invalid-status-line"),
        ("HTTP/1 200 OK\r\n\r\n", "invalid-status-line"),
        ("XTTP/1.1 200 OK\r\n\r\n", "invalid-status-line"),
        ("\r\nHTTP/1.1 200 OK\r\n\r\n", "invalid-status-line"),
        ("HTTP/1.1 200 OK\rX\r\n\r\n", "bare-carriage-return"),
        ("HTTP/1.1 200 OK\n\n", "bare-line-feed"),
        ("HTTP/2.0 200 OK\r\n\r\n", "unsupported-version"),
        ("HTTP/1.2 200 OK\r\n\r\n", "unsupported-version"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", "content-length-with-transfer-encoding"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", "unsupported-transfer-encoding"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", "unsupported-transfer-encoding"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip;level=1\r\n\r\n", "unsupported-transfer-encoding"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n\r\n", "unsupported-transfer-encoding"),
        ("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "transfer-encoding-in-http10"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "conflicting-content-length"),
        ("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", "invalid-content-length"),
        ("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", "obsolete-line-folding"),
        ("HTTP/1.1 200 OK\r\nX : a\r\n\r\n", "whitespace-before-colon"),
        ("HTTP/1.1 200 OK\r\nX: a\u{0}\r\n\r\n", "invalid-header-value"),
    ])
    func rejects(text: String, identifier: String) {
        #expect(parseResponse(text).error?.identifier == identifier)
    }

    @Test func rejectsGarbageBeforeTheHeadEnds() {
        #expect(parseResponse("<html>").error == .invalidStatusLine)
    }

    @Test func enforcesLimits() {
        let text = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n"
        #expect(parseResponse(text, limits: HTTP1Limits(maxHeaderCount: 1)).error == .tooManyHeaders)
        #expect(parseResponse(text, limits: HTTP1Limits(maxHeadBytes: 10)).error == .headTooLarge)
    }
}
