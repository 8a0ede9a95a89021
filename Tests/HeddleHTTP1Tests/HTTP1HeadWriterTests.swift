import NIOCore
import Testing

@testable import HeddleHTTP1

@Suite("HTTP1HeadWriter")
struct HTTP1HeadWriterTests {
    private func writeRequest(
        _ text: String,
        target: HTTP1HeadWriter.Target = .original,
        host: HTTP1HeadWriter.Text? = nil,
        removing shouldRemove: (HTTP1Head, HTTP1Field) -> Bool = { _, _ in false },
        appending extraFields: [HTTP1HeadWriter.Field] = []
    ) throws -> String {
        let head = try requestHead(text)
        var output = ByteBuffer()
        try HTTP1HeadWriter.writeRequestHead(
            head, target: target, host: host, removingFieldsWhere: { shouldRemove(head, $0) },
            appending: extraFields, into: &output
        )
        return String(buffer: output)
    }

    @Test(arguments: validRequests)
    func writesAnUneditedRequestByteForByte(text: String) throws {
        let head = try #require(parseRequest(text).head)
        var output = ByteBuffer()
        try HTTP1HeadWriter.writeRequestHead(head, into: &output)
        #expect(output == head.bytes)
    }

    @Test(arguments: validResponses)
    func writesAnUneditedResponseByteForByte(text: String, method: HTTPMethodKind) throws {
        let head = try #require(parseResponse(text, requestMethod: method).head)
        var output = ByteBuffer()
        try HTTP1HeadWriter.writeResponseHead(head, into: &output)
        #expect(output == head.bytes)
    }

    @Test func keepsOddSpacingOfUntouchedLines() throws {
        let text = "GET / HTTP/1.1\r\nHost:a\r\nX:  b \t\r\nDrop: me\r\nY:c\r\n\r\n"
        let written = try writeRequest(text, removing: { head, field in head.bytesEqual(field.name, lowercaseASCII: "drop") })
        #expect(written == "GET / HTTP/1.1\r\nHost:a\r\nX:  b \t\r\nY:c\r\n\r\n")
    }

    @Test func removesHopByHopFields() throws {
        let text = """
            GET / HTTP/1.1\r
            Connection: keep-alive, X-Secret\r
            Host: a\r
            Keep-Alive: timeout=5\r
            X-Secret: 1\r
            TE: trailers\r
            Proxy-Connection: keep-alive\r
            Upgrade: h2c\r
            Accept: */*\r
            \r

            """
        let written = try writeRequest(text, removing: { head, field in head.isHopByHop(field) })
        #expect(written == "GET / HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n")
        #expect(try requestHead(written).fieldNames == ["Host", "Accept"])
    }

    @Test func removesEveryField() throws {
        let written = try writeRequest("GET / HTTP/1.0\r\nA: 1\r\nB: 2\r\n\r\n", removing: { _, _ in true })
        #expect(written == "GET / HTTP/1.0\r\n\r\n")
    }

    @Test func appendsFieldsFromStringsAndBytes() throws {
        let text = "GET / HTTP/1.1\r\nHost: a\r\nX-Route: blue\r\n\r\n"
        let source = try requestHead(text)
        let routeValue = try #require(source.field(named: "x-route")).value
        let written = try writeRequest(text, appending: [
            HTTP1HeadWriter.Field(name: "Forwarded", value: "for=1.2.3.4"),
            HTTP1HeadWriter.Field(name: HTTP1HeadWriter.Text("l5d-dst"), value: HTTP1HeadWriter.Text(source.slice(routeValue))),
            HTTP1HeadWriter.Field(name: "X-Empty", value: ""),
        ])
        let head = try requestHead(written)
        #expect(head.fieldNames == ["Host", "X-Route", "Forwarded", "l5d-dst", "X-Empty"])
        #expect(head.value(forLowercasedName: "l5d-dst") == "blue")
        #expect(head.value(forLowercasedName: "x-empty") == "")
    }

    @Test func replacesHostInPlace() throws {
        let written = try writeRequest("GET / HTTP/1.1\r\nA: 1\r\nhost: old\r\nB: 2\r\n\r\n", host: "new.example:80")
        #expect(written == "GET / HTTP/1.1\r\nA: 1\r\nhost: new.example:80\r\nB: 2\r\n\r\n")
    }

    @Test func addsHostFirstWhenAbsent() throws {
        let written = try writeRequest("GET / HTTP/1.0\r\nA: 1\r\n\r\n", host: HTTP1HeadWriter.Text(buffer("svc.ns")))
        #expect(written == "GET / HTTP/1.0\r\nHost: svc.ns\r\nA: 1\r\n\r\n")
    }

    @Test(arguments: [
        ("GET http://a.example:8080/p/q?x=1 HTTP/1.1", "GET /p/q?x=1 HTTP/1.1"),
        ("GET http://a.example HTTP/1.1", "GET / HTTP/1.1"),
        ("GET http://a.example?x HTTP/1.1", "GET /?x HTTP/1.1"),
        ("OPTIONS http://a.example HTTP/1.1", "OPTIONS * HTTP/1.1"),
        ("OPTIONS http://a.example/ HTTP/1.1", "OPTIONS / HTTP/1.1"),
        ("OPTIONS http://a.example?x HTTP/1.1", "OPTIONS /?x HTTP/1.1"),
        ("GET /already/origin?y HTTP/1.0", "GET /already/origin?y HTTP/1.0"),
        ("OPTIONS * HTTP/1.1", "OPTIONS * HTTP/1.1"),
        ("CONNECT a:443 HTTP/1.1", "CONNECT a:443 HTTP/1.1"),
    ])
    func convertsAbsoluteFormToOriginForm(requestLine: String, expected: String) throws {
        let text = "\(requestLine)\r\nHost: a.example\r\nX: y\r\n\r\n"
        let head = try requestHead(text)
        var output = ByteBuffer()
        try HTTP1HeadWriter.writeRequestHead(head, target: .originForm, host: head.host.map { HTTP1HeadWriter.Text($0) }, into: &output)
        let written = String(buffer: output)
        #expect(written == "\(expected)\r\nHost: \(head.host ?? "")\r\nX: y\r\n\r\n")
        #expect(try requestHead(written).targetForm != .absolute)
    }

    @Test func replacesTheTarget() throws {
        let written = try writeRequest("POST /api/v1/x?q HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", target: .replaced("/v1/x?q"))
        #expect(written == "POST /v1/x?q HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
    }

    @Test func editsAResponse() throws {
        let head = try responseHead("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\n")
        var output = ByteBuffer()
        try HTTP1HeadWriter.writeResponseHead(
            head, removingFieldsWhere: head.isHopByHop, appending: [HTTP1HeadWriter.Field(name: "Via", value: "1.1 heddle")],
            into: &output
        )
        #expect(String(buffer: output) == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nVia: 1.1 heddle\r\n\r\n")
    }

    @Test func writesACompleteResponse() throws {
        let error = HTTP1ParseError.contentLengthWithTransferEncoding
        var output = ByteBuffer()
        try HTTP1HeadWriter.writeResponse(
            status: error.httpStatus, reason: "Bad Request",
            fields: [
                HTTP1HeadWriter.Field(name: "Connection", value: "close"),
                HTTP1HeadWriter.Field(name: "Heddle-Error", value: HTTP1HeadWriter.Text(error.identifier)),
            ],
            body: HTTP1HeadWriter.Text(error.reason + "\n"), into: &output
        )
        let text = String(buffer: output)
        #expect(text.hasPrefix("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nHeddle-Error: content-length-with-transfer-encoding\r\n"))
        let result = parseResponse(text)
        let head = try #require(result.head)
        #expect(head.statusCode == 400)
        #expect(!head.keepAlive)
        #expect(head.bodyFraming == .contentLength(UInt64(error.reason.utf8.count + 1)))
        #expect(String(buffer: output).hasSuffix("\r\n\r\n" + error.reason + "\n"))
    }

    @Test func writesAResponseWithoutBody() throws {
        var output = ByteBuffer()
        try HTTP1HeadWriter.writeResponse(status: 200, reason: "Connection established", into: &output)
        #expect(String(buffer: output) == "HTTP/1.1 200 Connection established\r\n\r\n")
        #expect(try responseHead(String(buffer: output), requestMethod: .connect).isUpgrade)
        var empty = ByteBuffer()
        try HTTP1HeadWriter.writeResponse(status: 503, reason: "", body: "", into: &empty)
        #expect(String(buffer: empty) == "HTTP/1.1 503 \r\nContent-Length: 0\r\n\r\n")
    }

    // MARK: - Rejected edits

    @Test(arguments: [
        (HTTP1HeadWriter.Target.replaced("/a b"), nil, [], "invalid-target"),
        (.replaced(""), nil, [], "invalid-target"),
        (.replaced("/a\r\nX: y"), nil, [], "invalid-target"),
        (.replaced("/a#b"), nil, [], "invalid-target"),
        (.original, "a\r\nX: y", [], "invalid-host"),
        (.original, "user@a", [], "invalid-host"),
        (.original, nil, [HTTP1HeadWriter.Field(name: "X", value: "a\r\nInjected: 1")], "invalid-header-value"),
        (.original, nil, [HTTP1HeadWriter.Field(name: "X", value: "a\u{0}")], "invalid-header-value"),
        (.original, nil, [HTTP1HeadWriter.Field(name: "X", value: " padded")], "invalid-header-value"),
        (.original, nil, [HTTP1HeadWriter.Field(name: "X", value: "padded\t")], "invalid-header-value"),
        (.original, nil, [HTTP1HeadWriter.Field(name: "X:Y", value: "a")], "invalid-header-name"),
        (.original, nil, [HTTP1HeadWriter.Field(name: "", value: "a")], "invalid-header-name"),
        (.original, nil, [HTTP1HeadWriter.Field(name: "X Y", value: "a")], "invalid-header-name"),
        (.original, nil, [HTTP1HeadWriter.Field(name: "Content-Length", value: "0")], "forbidden-field-edit"),
        (.original, nil, [HTTP1HeadWriter.Field(name: "transfer-encoding", value: "chunked")], "forbidden-field-edit"),
        (.original, nil, [HTTP1HeadWriter.Field(name: "HOST", value: "b")], "forbidden-field-edit"),
    ] as [(HTTP1HeadWriter.Target, HTTP1HeadWriter.Text?, [HTTP1HeadWriter.Field], String)])
    func rejectsInvalidEdits(target: HTTP1HeadWriter.Target, host: HTTP1HeadWriter.Text?, fields: [HTTP1HeadWriter.Field], identifier: String) throws {
        let head = try requestHead("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        var output = buffer("kept")
        #expect {
            try HTTP1HeadWriter.writeRequestHead(head, target: target, host: host, appending: fields, into: &output)
        } throws: { error in
            (error as? HTTP1ParseError)?.identifier == identifier
        }
        #expect(String(buffer: output) == "kept")
    }

    @Test(arguments: ["content-length", "transfer-encoding", "host"])
    func refusesToRemoveFramingFieldsAndHost(name: String) throws {
        let head = try requestHead("POST / HTTP/1.1\r\nA: 1\r\nHost: a\r\nB: 2\r\nTransfer-Encoding: chunked\r\nC: 3\r\n\r\n")
        let contentLength = try requestHead("POST / HTTP/1.1\r\nA: 1\r\nHost: a\r\nContent-Length: 1\r\n\r\n")
        let source = name == "content-length" ? contentLength : head
        var output = buffer("kept")
        #expect(throws: HTTP1ParseError.forbiddenFieldEdit) {
            try HTTP1HeadWriter.writeRequestHead(
                source, removingFieldsWhere: { source.bytesEqual($0.name, lowercaseASCII: name) || source.bytesEqual($0.name, lowercaseASCII: "a") },
                into: &output
            )
        }
        #expect(String(buffer: output) == "kept")
        #expect(throws: HTTP1ParseError.forbiddenFieldEdit) {
            try HTTP1HeadWriter.writeResponse(status: 200, reason: "OK", fields: [HTTP1HeadWriter.Field(name: HTTP1HeadWriter.Text(name), value: "1")], into: &output)
        }
    }

    @Test(arguments: [
        (99, "Low", "invalid-status-line"),
        (1000, "High", "invalid-status-line"),
        (200, "O\r\nK", "invalid-status-line"),
    ])
    func rejectsInvalidResponses(status: Int, reason: String, identifier: String) {
        var output = ByteBuffer()
        #expect {
            try HTTP1HeadWriter.writeResponse(status: status, reason: HTTP1HeadWriter.Text(reason), into: &output)
        } throws: { error in
            (error as? HTTP1ParseError)?.identifier == identifier
        }
        #expect(output.readableBytes == 0)
    }
}
