import NIOCore
import Testing

@testable import HeddleHTTP1

@Suite("HTTP1HeadParser: requests")
struct HTTP1HeadParserRequestTests {
    @Test func parsesSimpleGet() throws {
        let text = "GET /index.html?x=1&y HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n"
        let result = parseRequest(text + "GET /next")
        let head = try #require(result.head)
        #expect(result.consumed == text.utf8.count)
        #expect(head.bytes == buffer(text))
        #expect(head.kind == .request)
        #expect(head.version == .http1_1)
        #expect(head.methodKind == .get)
        #expect(head.method == "GET")
        #expect(head.target == "/index.html?x=1&y")
        #expect(head.targetForm == .origin)
        #expect(head.path == "/index.html")
        #expect(head.query == "x=1&y")
        #expect(head.host == "example.com")
        #expect(head.fieldNames == ["Host", "Accept"])
        #expect(head.value(forLowercasedName: "accept") == "*/*")
        #expect(head.bodyFraming == .none)
        #expect(head.keepAlive)
        #expect(!head.expectsContinue)
        #expect(!head.isUpgrade)
        #expect(head.statusCode == 0)
    }

    @Test func parsesPostWithContentLength() throws {
        let head = try requestHead("POST /submit HTTP/1.1\r\nHost: a\r\nContent-Length: 42\r\n\r\n")
        #expect(head.methodKind == .post)
        #expect(head.bodyFraming == .contentLength(42))
        #expect(head.query == nil)
    }

    @Test(arguments: ["chunked", "Chunked", "CHUNKED", "\tchunked  "])
    func parsesChunkedPost(coding: String) throws {
        let head = try requestHead("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \(coding)\r\n\r\n")
        #expect(head.bodyFraming == .chunked)
    }

    @Test func acceptsTheLargestContentLength() throws {
        let head = try requestHead("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 4611686018427387904\r\n\r\n")
        #expect(head.bodyFraming == .contentLength(1 << 62))
    }

    @Test func acceptsIdenticalDuplicateContentLength() throws {
        let head = try requestHead("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 005\r\n\r\n")
        #expect(head.bodyFraming == .contentLength(5))
    }

    @Test func trimsOptionalWhitespaceAroundValues() throws {
        let head = try requestHead("GET / HTTP/1.1\r\nHost:a\r\nX: \t a \t b \t\r\nEmpty:\r\nBlank:   \r\n\r\n")
        #expect(head.fields.map { head.string($0.value) } == ["a", "a \t b", "", ""])
    }

    @Test func acceptsObsoleteTextInValues() throws {
        let head = try requestHead("GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\u{E9}\r\n\r\n")
        #expect(head.value(forLowercasedName: "x-name") == "caf\u{E9}")
    }

    @Test func skipsEmptyLinesBeforeTheRequestLine() throws {
        let text = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"
        let result = parseRequest(text)
        let head = try #require(result.head)
        #expect(result.consumed == text.utf8.count)
        #expect(head.bytes == buffer("GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(head.methodRange == 0..<3)
    }

    @Test func recognisesMethods() throws {
        let methods: [(String, HTTPMethodKind)] = [
            ("GET", .get), ("HEAD", .head), ("POST", .post), ("PUT", .put), ("DELETE", .delete),
            ("OPTIONS", .options), ("TRACE", .trace), ("PATCH", .patch), ("get", .other),
            ("PURGE", .other), ("GETS", .other), ("M-SEARCH", .other), ("X", .other),
        ]
        for (method, kind) in methods {
            let head = try requestHead("\(method) / HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(head.methodKind == kind, "\(method)")
            #expect(head.method == method)
        }
        #expect(try requestHead("CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n\r\n").methodKind == .connect)
    }

    @Test func acceptsHTTP10WithoutHost() throws {
        let head = try requestHead("GET / HTTP/1.0\r\n\r\n")
        #expect(head.version == .http1_0)
        #expect(head.hostRange == nil)
        #expect(head.host == nil)
    }

    @Test func acceptsAnEmptyHost() throws {
        let head = try requestHead("GET / HTTP/1.1\r\nHost:\r\n\r\n")
        #expect(head.hostRange?.isEmpty == true)
        #expect(head.host == "")
    }

    @Test(arguments: ["a", "example.com:8080", "[::1]", "[2001:db8::1]:443", "xn--bcher-kva.example", "a%41b", "h:"])
    func acceptsValidHosts(host: String) throws {
        let head = try requestHead("GET / HTTP/1.1\r\nHost: \(host)\r\n\r\n")
        #expect(head.host == host)
    }

    // MARK: - Keep-alive, Expect, Upgrade

    @Test(arguments: [
        ("1.1", nil, true),
        ("1.1", "close", false),
        ("1.1", "Close", false),
        ("1.1", "keep-alive", true),
        ("1.1", "Keep-Alive, CLOSE", false),
        ("1.1", "upgrade", true),
        ("1.0", nil, false),
        ("1.0", "keep-alive", true),
        ("1.0", "Keep-Alive", true),
        ("1.0", "close", false),
        ("1.0", "keep-alive, close", false),
        ("1.0", "foo,, keep-alive", true),
    ] as [(String, String?, Bool)])
    func keepAliveMatrix(version: String, connection: String?, keepAlive: Bool) throws {
        let connectionLine = connection.map { "Connection: \($0)\r\n" } ?? ""
        let head = try requestHead("GET / HTTP/\(version)\r\nHost: a\r\n\(connectionLine)\r\n")
        #expect(head.keepAlive == keepAlive)
    }

    @Test func combinesConnectionFields() throws {
        let head = try requestHead("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo\r\nConnection: close\r\n\r\n")
        #expect(!head.keepAlive)
    }

    @Test(arguments: [
        ("1.1", "100-continue", true),
        ("1.1", "100-Continue", true),
        ("1.1", "200-ok", false),
        ("1.0", "100-continue", false),
    ])
    func expectsContinue(version: String, expect: String, expected: Bool) throws {
        let head = try requestHead("PUT / HTTP/\(version)\r\nHost: a\r\nExpect: \(expect)\r\nContent-Length: 1\r\n\r\n")
        #expect(head.expectsContinue == expected)
    }

    @Test(arguments: [
        ("1.1", "Upgrade: websocket\r\nConnection: Upgrade\r\n", true),
        ("1.1", "Upgrade: websocket\r\nConnection: keep-alive, upgrade\r\n", true),
        ("1.1", "Upgrade: websocket\r\n", false),
        ("1.1", "Connection: upgrade\r\n", false),
        ("1.0", "Upgrade: websocket\r\nConnection: upgrade\r\n", false),
    ])
    func detectsUpgrade(version: String, fields: String, expected: Bool) throws {
        let head = try requestHead("GET / HTTP/\(version)\r\nHost: a\r\n\(fields)\r\n")
        #expect(head.isUpgrade == expected)
    }

    // MARK: - Target forms

    @Test func parsesAbsoluteForm() throws {
        let head = try requestHead("GET http://example.com:8080/a/b?x=1 HTTP/1.1\r\nHost: other\r\n\r\n")
        #expect(head.targetForm == .absolute)
        #expect(head.schemeRange.map(head.string) == "http")
        #expect(head.authorityRange.map(head.string) == "example.com:8080")
        #expect(head.path == "/a/b")
        #expect(head.query == "x=1")
        #expect(head.hostRange.map(head.string) == "other")
        #expect(head.host == "example.com:8080")
    }

    @Test(arguments: [
        ("http://example.com", "", nil),
        ("https://example.com?q", "", "q"),
        ("HTTP://[::1]:80/", "/", nil),
        ("http://a/b/../c?", "/b/../c", ""),
    ] as [(String, String, String?)])
    func parsesAbsoluteFormParts(target: String, path: String, query: String?) throws {
        let head = try requestHead("GET \(target) HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(head.targetForm == .absolute)
        #expect(head.path == path)
        #expect(head.query == query)
    }

    @Test func parsesAuthorityForm() throws {
        let head = try requestHead("CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n")
        #expect(head.targetForm == .authority)
        #expect(head.authorityRange.map(head.string) == "[2001:db8::1]:443")
        #expect(head.host == "[2001:db8::1]:443")
        #expect(head.pathRange.isEmpty)
    }

    @Test func parsesAsteriskForm() throws {
        let head = try requestHead("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(head.targetForm == .asterisk)
        #expect(head.target == "*")
        #expect(head.host == "a")
    }

    @Test func acceptsOriginFormWithDoubleSlash() throws {
        let head = try requestHead("GET //evil.example/x HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(head.targetForm == .origin)
        #expect(head.path == "//evil.example/x")
        #expect(head.authorityRange == nil)
    }

    // MARK: - Errors

    @Test(arguments: [
        // Request line
        ("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", "invalid-request-line"),
        ("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", "invalid-request-line"),
        ("GET /\r\nHost: a\r\n\r\n", "invalid-request-line"),
        ("GET / http/1.1\r\nHost: a\r\n\r\n", "invalid-request-line"),
        ("GET / HTTP/11.1\r\nHost: a\r\n\r\n", "invalid-request-line"),
        ("GET / HTTP/1.10\r\nHost: a\r\n\r\n", "invalid-request-line"),
        ("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", "invalid-request-line"),
        (" GET / HTTP/1.1\r\nHost: a\r\n\r\n", "invalid-request-line"),
        ("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", "invalid-request-line"),
        ("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", "invalid-request-line"),
        ("GET / HTTP/1.2\r\nHost: a\r\n\r\n", "unsupported-version"),
        ("GET / HTTP/2.0\r\nHost: a\r\n\r\n", "unsupported-version"),
        ("GET / HTTP/0.9\r\nHost: a\r\n\r\n", "unsupported-version"),
        ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "http2-preface"),
        // Target
        ("GET /a\u{1}b HTTP/1.1\r\nHost: a\r\n\r\n", "invalid-target"),
        ("GET /a\u{7F} HTTP/1.1\r\nHost: a\r\n\r\n", "invalid-target"),
        ("GET /caf\u{E9} HTTP/1.1\r\nHost: a\r\n\r\n", "invalid-target"),
        ("GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", "invalid-target"),
        ("GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", "invalid-target"),
        ("GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", "invalid-target"),
        ("GET * HTTP/1.1\r\nHost: a\r\n\r\n", "invalid-target"),
        ("GET example.com:80 HTTP/1.1\r\nHost: a\r\n\r\n", "invalid-target"),
        ("GET http:/x HTTP/1.1\r\nHost: a\r\n\r\n", "invalid-target"),
        ("GET http:// HTTP/1.1\r\nHost: a\r\n\r\n", "invalid-target"),
        ("GET http:///p HTTP/1.1\r\nHost: a\r\n\r\n", "invalid-target"),
        ("GET http://user@host/ HTTP/1.1\r\nHost: a\r\n\r\n", "invalid-target"),
        ("GET http://a b/ HTTP/1.1\r\nHost: a\r\n\r\n", "invalid-request-line"),
        ("GET 1http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", "invalid-target"),
        ("CONNECT example.com HTTP/1.1\r\nHost: a\r\n\r\n", "invalid-target"),
        ("CONNECT example.com: HTTP/1.1\r\nHost: a\r\n\r\n", "invalid-target"),
        ("CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", "invalid-target"),
        ("CONNECT http://a:1/ HTTP/1.1\r\nHost: a\r\n\r\n", "invalid-target"),
        ("CONNECT a:123456 HTTP/1.1\r\nHost: a\r\n\r\n", "invalid-target"),
        // Field lines
        ("GET / HTTP/1.1\r\nHost: a\r\nFo@o: x\r\n\r\n", "invalid-header-name"),
        ("GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", "invalid-header-name"),
        ("GET / HTTP/1.1\r\nHost: a\r\nFo\u{0}o: x\r\n\r\n", "invalid-header-name"),
        ("GET / HTTP/1.1\r\nHost: a\r\nN\u{E9}: x\r\n\r\n", "invalid-header-name"),
        ("GET / HTTP/1.1\r\nHost: a\r\nFoo Bar: x\r\n\r\n", "invalid-header-name"),
        ("GET / HTTP/1.1\r\nHost: a\r\nFoo\r\n\r\n", "header-without-colon"),
        ("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n", "whitespace-before-colon"),
        ("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", "whitespace-before-colon"),
        ("GET / HTTP/1.1\r\nHost: a\r\nX: a\u{0}b\r\n\r\n", "invalid-header-value"),
        ("GET / HTTP/1.1\r\nHost: a\r\nX: \u{1}\r\n\r\n", "invalid-header-value"),
        ("GET / HTTP/1.1\r\nHost: a\r\nX: a\u{7F}\r\n\r\n", "invalid-header-value"),
        ("GET / HTTP/1.1\r\nHost: a\r\nX: a\u{B}b\r\n\r\n", "invalid-header-value"),
        ("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", "obsolete-line-folding"),
        ("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n", "obsolete-line-folding"),
        ("GET / HTTP/1.1\r\n Host: a\r\n\r\n", "obsolete-line-folding"),
        // Line endings
        ("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", "bare-carriage-return"),
        ("GET / HTTP/1.1\rHost: a\r\n\r\n", "bare-carriage-return"),
        ("GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", "bare-carriage-return"),
        ("GET / HTTP/1.1\r\nHost: a\r\nFoo\rBar: b\r\n\r\n", "bare-carriage-return"),
        ("GET / HTTP/1.1\r\nHost: a\r\n\rX\r\n\r\n", "bare-carriage-return"),
        ("\r\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", "bare-carriage-return"),
        ("GET / HTTP/1.1\nHost: a\n\n", "bare-line-feed"),
        ("GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", "bare-line-feed"),
        ("GET / HTTP/1.1\r\nHost: a\r\n\n", "bare-line-feed"),
        ("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", "bare-line-feed"),
        // Content-Length
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n", "invalid-content-length"),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", "invalid-content-length"),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", "invalid-content-length"),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", "invalid-content-length"),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", "invalid-content-length"),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", "invalid-content-length"),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", "invalid-content-length"),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4611686018427387905\r\n\r\n", "invalid-content-length"),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n", "invalid-content-length"),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", "invalid-content-length"),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", "conflicting-content-length"),
        // Transfer-Encoding
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", "content-length-with-transfer-encoding"),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", "content-length-with-transfer-encoding"),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", "unsupported-transfer-encoding"),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "unsupported-transfer-encoding"),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", "unsupported-transfer-encoding"),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", "unsupported-transfer-encoding"),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", "unsupported-transfer-encoding"),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", "unsupported-transfer-encoding"),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", "unsupported-transfer-encoding"),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked\r\n\r\n", "unsupported-transfer-encoding"),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", "unsupported-transfer-encoding"),
        ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "transfer-encoding-in-http10"),
        // Host
        ("GET / HTTP/1.1\r\n\r\n", "missing-host"),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", "multiple-host"),
        ("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", "multiple-host"),
        ("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "invalid-host"),
        ("GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", "invalid-host"),
        ("GET / HTTP/1.1\r\nHost: a:b\r\n\r\n", "invalid-host"),
        ("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", "invalid-host"),
        ("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", "invalid-host"),
        ("GET / HTTP/1.1\r\nHost: :80\r\n\r\n", "invalid-host"),
        ("GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n", "invalid-host"),
    ])
    func rejects(text: String, identifier: String) {
        #expect(parseRequest(text).error?.identifier == identifier)
    }

    @Test(arguments: [
        ("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
        ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\n\r\n", 400),
    ])
    func mapsErrorsToStatuses(text: String, status: Int) {
        #expect(parseRequest(text).error?.httpStatus == status)
    }

    @Test func rejectsGarbageBeforeTheHeadEnds() {
        #expect(parseRequest("\u{16}\u{3}\u{1}").error == .invalidRequestLine)
        #expect(parseRequest("GET / HTTP/1.1\nHost").error == .bareLineFeed)
        #expect(parseRequest("\r\r").error == .bareCarriageReturn)
    }

    // MARK: - Limits

    @Test func enforcesMaxHeadBytesExactly() {
        let text = "GET / HTTP/1.1\r\nHost: a\r\nX: \(String(repeating: "v", count: 100))\r\n\r\n"
        let size = text.utf8.count
        #expect(parseRequest(text, limits: HTTP1Limits(maxHeadBytes: size)).head != nil)
        let tooSmall = parseRequest(text, limits: HTTP1Limits(maxHeadBytes: size - 1)).error
        #expect(tooSmall == .headTooLarge)
        #expect(tooSmall?.httpStatus == 431)
    }

    @Test func countsSkippedEmptyLinesTowardTheHeadLimit() {
        let text = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"
        let size = text.utf8.count
        #expect(parseRequest(text, limits: HTTP1Limits(maxHeadBytes: size)).head != nil)
        #expect(parseRequest(text, limits: HTTP1Limits(maxHeadBytes: size - 1)).error == .headTooLarge)
        #expect(parseRequest(String(repeating: "\r\n", count: 100), limits: HTTP1Limits(maxHeadBytes: 64)).error == .headTooLarge)
    }

    @Test func reportsAnIncompleteHeadTooLargeOnceTheLimitIsReached() {
        let limits = HTTP1Limits(maxHeadBytes: 64)
        let partial = "GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "v", count: 20)
        #expect(parseRequest(partial, limits: limits).needsMoreBytes)
        #expect(parseRequest(partial + String(repeating: "v", count: 40), limits: limits).error == .headTooLarge)
    }

    @Test func enforcesMaxHeaderCount() {
        let limits = HTTP1Limits(maxHeaderCount: 3)
        let three = "GET / HTTP/1.1\r\nHost: a\r\nB: 1\r\nC: 2\r\n\r\n"
        let four = "GET / HTTP/1.1\r\nHost: a\r\nB: 1\r\nC: 2\r\nD: 3\r\n\r\n"
        #expect(parseRequest(three, limits: limits).head?.fields.count == 3)
        let error = parseRequest(four, limits: limits).error
        #expect(error == .tooManyHeaders)
        #expect(error?.httpStatus == 431)
        #expect(error?.identifier == "too-many-headers")
    }

    @Test func defaultLimits() {
        let limits = HTTP1Limits()
        #expect(limits.maxHeadBytes == 32 * 1024)
        #expect(limits.maxHeaderCount == 100)
        #expect(limits.maxChunkExtensionBytes == 1024)
        #expect(limits.maxTrailerBytes == 8 * 1024)
        #expect(HTTP1Limits(maxHeadBytes: -1, maxHeaderCount: -1).maxHeadBytes == 0)
        #expect(HTTP1Limits(maxHeadBytes: .max).maxHeadBytes == Int(UInt32.max))
    }

    @Test func reusesTheCallersFieldStorage() throws {
        var fields: [HTTP1Field] = []
        fields.reserveCapacity(16)
        let capacity = fields.capacity
        for _ in 0..<3 {
            let result = HTTP1HeadParser.parseRequest(buffer("GET / HTTP/1.1\r\nHost: a\r\nB: c\r\n\r\n"), fields: &fields)
            #expect(result.head?.fields.count == 2)
        }
        #expect(fields.count == 2)
        #expect(fields.capacity == capacity)
    }
}
