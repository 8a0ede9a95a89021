import NIOCore
import Testing

@testable import HeddleHTTP1

@Suite("HTTP1HeadParser: restarts, slowloris and mutations")
struct HTTP1HeadParserRobustnessTests {
    /// Invalid messages whose error must not depend on how the bytes arrive.
    static let invalidRequests = [
        "GET / HTTP/1.1\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "\r\n\rGET / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
    ]

    enum Role: Sendable, CustomTestStringConvertible {
        case request
        case response(HTTPMethodKind)

        var testDescription: String {
            switch self {
            case .request: "request"
            case .response(let method): "response to \(method)"
            }
        }
    }

    static let messages: [(String, Role)] = validRequests.map { ($0, .request) }
        + validResponses.map { ($0.0, .response($0.1)) }
        + invalidRequests.map { ($0, .request) }

    private static func parse(_ parser: inout HTTP1HeadParser, _ input: ByteBuffer, _ role: Role, _ fields: inout [HTTP1Field]) -> HTTP1ParseResult {
        switch role {
        case .request: parser.parseRequest(input, fields: &fields)
        case .response(let method): parser.parseResponse(input, requestMethod: method, fields: &fields)
        }
    }

    private static func parseWhole(_ text: String, _ role: Role) -> HTTP1ParseResult {
        var parser = HTTP1HeadParser()
        var fields: [HTTP1Field] = []
        return parse(&parser, buffer(text), role, &fields)
    }

    @Test(arguments: messages)
    func splittingAtEveryByteGivesTheSameResult(text: String, role: Role) {
        let whole = Self.parseWhole(text, role)
        #expect(!whole.needsMoreBytes)
        let bytes = Array(text.utf8)
        for split in 0...bytes.count {
            var parser = HTTP1HeadParser()
            var fields: [HTTP1Field] = []
            let first = Self.parse(&parser, buffer(Array(bytes[..<split])), role, &fields)
            let result: HTTP1ParseResult
            if first.needsMoreBytes {
                result = Self.parse(&parser, buffer(bytes), role, &fields)
            } else {
                result = first
            }
            #expect(result.summary == whole.summary, "split at \(split)")
        }
    }

    @Test(arguments: messages)
    func oneByteAtATimeGivesTheSameResult(text: String, role: Role) {
        let whole = Self.parseWhole(text, role)
        var parser = HTTP1HeadParser()
        var fields: [HTTP1Field] = []
        var input = ByteBuffer()
        var result = HTTP1ParseResult.needMoreBytes
        for byte in text.utf8 {
            input.writeInteger(byte)
            result = Self.parse(&parser, input, role, &fields)
            if !result.needsMoreBytes { break }
        }
        #expect(result.summary == whole.summary)
    }

    @Test func slowlorisHeadCompletesInLinearWork() throws {
        var text = "GET / HTTP/1.1\r\nHost: a\r\n"
        var index = 0
        while text.utf8.count < 30 * 1024 {
            text += "X-Filler-\(index): \(String(repeating: "v", count: 90))\r\n"
            index += 1
        }
        text += "\r\n"
        let limits = HTTP1Limits(maxHeadBytes: 32 * 1024, maxHeaderCount: 1000)
        var parser = HTTP1HeadParser(limits: limits)
        var fields: [HTTP1Field] = []
        var input = ByteBuffer()
        input.reserveCapacity(text.utf8.count)
        var calls = 0
        var result = HTTP1ParseResult.needMoreBytes
        for byte in text.utf8 {
            input.writeInteger(byte)
            calls += 1
            result = parser.parseRequest(input, fields: &fields)
            if !result.needsMoreBytes { break }
        }
        let head = try #require(result.head)
        #expect(calls == text.utf8.count)
        #expect(head.fields.count == index + 1)
        #expect(result.consumed == text.utf8.count)
    }

    /// Proof that a restarted parse resumes instead of rescanning: bytes already searched are
    /// not looked at again, so changing them behind the parser's back goes unnoticed.
    @Test func resumesWhereTheSearchStopped() {
        var parser = HTTP1HeadParser()
        var fields: [HTTP1Field] = []
        #expect(parser.parseRequest(buffer("GET / HTTP/1.1\r\nHost: a\r\nX: 12345"), fields: &fields).needsMoreBytes)
        let changed = "GET / HTTP/1.1\r\nHost: a\r\nX: 12\n45\r\n\r\n"
        #expect(parser.parseRequest(buffer(changed), fields: &fields).error == .invalidHeaderValue)
        #expect(HTTP1HeadParser.parseRequest(buffer(changed), fields: &fields).error == .bareLineFeed)
    }

    @Test func resetsAfterAResultAndWhenTheBufferShrinks() {
        var parser = HTTP1HeadParser()
        var fields: [HTTP1Field] = []
        let text = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
        #expect(parser.parseRequest(buffer(text), fields: &fields).head != nil)
        #expect(parser.parseRequest(buffer(text), fields: &fields).head != nil)
        #expect(parser.parseRequest(buffer("GET / HTTP/1.1\r\nHost: aaaaaaaaaa"), fields: &fields).needsMoreBytes)
        #expect(parser.parseRequest(buffer(text), fields: &fields).head != nil)
        #expect(parser.parseRequest(buffer("GET /"), fields: &fields).needsMoreBytes)
        parser.reset()
        #expect(parser.parseRequest(buffer("\u{1}"), fields: &fields).error == .invalidRequestLine)
    }

    @Test func respectsTheBuffersReaderIndex() throws {
        var input = buffer("junkGET / HTTP/1.1\r\nHost: a\r\n\r\n")
        input.moveReaderIndex(forwardBy: 4)
        var fields: [HTTP1Field] = []
        let head = try #require(HTTP1HeadParser.parseRequest(input, fields: &fields).head)
        #expect(head.method == "GET")
        #expect(head.bytes.readerIndex == 0)
    }

    // MARK: - Mutations

    private enum Mutation: CaseIterable {
        case flip
        case insert
        case delete
        case replace
    }

    /// Bytes that matter to the grammar, so mutations hit interesting cases often.
    private static let interestingBytes: [UInt8] = Array("\r\n :;,\t\"\\0aZ-chunked".utf8) + [0, 0x7F, 0x80, 0xFF, 0x0B]

    private static func mutate(_ bytes: [UInt8], using generator: inout SeededGenerator) -> [UInt8] {
        var bytes = bytes
        let count = Int.random(in: 1...3, using: &generator)
        for _ in 0..<count where !bytes.isEmpty {
            let position = Int.random(in: 0..<bytes.count, using: &generator)
            let byte = Bool.random(using: &generator)
                ? interestingBytes.randomElement(using: &generator)!
                : UInt8.random(in: 0...255, using: &generator)
            switch Mutation.allCases.randomElement(using: &generator)! {
            case .flip: bytes[position] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &generator)
            case .insert: bytes.insert(byte, at: position)
            case .delete: bytes.remove(at: position)
            case .replace: bytes[position] = byte
            }
        }
        return bytes
    }

    @Test func mutatedMessagesNeverCrashAndHeadsRevalidate() throws {
        var generator = SeededGenerator(seed: 0x4845_4444_4C45)
        let seeds = Self.messages.filter { !Self.parseWhole($0.0, $0.1).needsMoreBytes }
        var heads = 0
        var errors = 0
        for _ in 0..<20_000 {
            let (text, role) = seeds.randomElement(using: &generator)!
            let mutated = Self.mutate(Array(text.utf8), using: &generator)
            var parser = HTTP1HeadParser(limits: HTTP1Limits(maxHeadBytes: 1024, maxHeaderCount: 20))
            var fields: [HTTP1Field] = []
            let whole = Self.parse(&parser, buffer(mutated), role, &fields)

            let split = Int.random(in: 0...mutated.count, using: &generator)
            var splitParser = HTTP1HeadParser(limits: parser.limits)
            var splitFields: [HTTP1Field] = []
            var splitResult = Self.parse(&splitParser, buffer(Array(mutated[..<split])), role, &splitFields)
            if splitResult.needsMoreBytes {
                splitResult = Self.parse(&splitParser, buffer(mutated), role, &splitFields)
            }
            #expect(splitResult.summary == whole.summary)

            switch whole {
            case .head(let head, let consumed):
                heads += 1
                try Self.revalidate(head, consumed: consumed, input: mutated, role: role, limits: parser.limits)
            case .error:
                errors += 1
            case .needMoreBytes:
                #expect(mutated.count < parser.limits.maxHeadBytes)
            }
        }
        #expect(heads > 1000)
        #expect(errors > 1000)
    }

    /// Checks every invariant a head promises, independently of the parser.
    private static func revalidate(_ head: HTTP1Head, consumed: Int, input: [UInt8], role: Role, limits: HTTP1Limits) throws {
        let bytes = Array(head.bytes.readableBytesView)
        #expect(consumed <= input.count)
        #expect(bytes.count <= consumed)
        #expect(Array(input[(consumed - bytes.count)..<consumed]) == bytes)
        #expect(bytes.suffix(4) == Array("\r\n\r\n".utf8))
        #expect(head.fields.count <= limits.maxHeaderCount)
        for (index, byte) in bytes.enumerated() where byte == ASCII.lineFeed {
            #expect(index > 0 && bytes[index - 1] == ASCII.carriageReturn)
        }
        for (index, byte) in bytes.enumerated() where byte == ASCII.carriageReturn {
            #expect(index + 1 < bytes.count && bytes[index + 1] == ASCII.lineFeed)
        }
        var contentLengths: [UInt64] = []
        var hasTransferEncoding = false
        for field in head.fields {
            #expect(field.name.upperBound <= bytes.count && field.value.upperBound <= bytes.count)
            #expect(field.name.upperBound < field.value.lowerBound)
            let name = bytes[field.name]
            let value = bytes[field.value]
            #expect(!name.isEmpty && name.allSatisfy(ASCII.isTokenChar))
            #expect(bytes[field.name.upperBound] == ASCII.colon)
            #expect(value.allSatisfy { ASCII.isFieldVisibleChar($0) || ASCII.isWhitespace($0) })
            #expect(!(value.first.map(ASCII.isWhitespace) ?? false) && !(value.last.map(ASCII.isWhitespace) ?? false))
            let lowercaseName = String(decoding: name.map(ASCII.lowercased), as: UTF8.self)
            if lowercaseName == "content-length" {
                contentLengths.append(try #require(UInt64(String(decoding: value, as: UTF8.self))))
            } else if lowercaseName == "transfer-encoding" {
                hasTransferEncoding = true
            }
        }
        #expect(Set(contentLengths).count <= 1)
        #expect(!(hasTransferEncoding && !contentLengths.isEmpty))
        switch head.bodyFraming {
        case .contentLength(let length):
            #expect(contentLengths.first == length)
        case .chunked:
            #expect(hasTransferEncoding)
        case .untilClose:
            #expect(head.kind == .response && !head.keepAlive)
        case .none:
            break
        }
        // Parsing the head's own bytes again gives the same head.
        var fields: [HTTP1Field] = []
        var parser = HTTP1HeadParser(limits: limits)
        let again = parse(&parser, head.bytes, role, &fields)
        #expect(again.head?.summary == head.summary)
        // Writing it unedited gives its bytes back; dropping hop-by-hop fields gives a head
        // that still parses, with the same framing.
        var unedited = ByteBuffer()
        var stripped = ByteBuffer()
        switch role {
        case .request:
            try HTTP1HeadWriter.writeRequestHead(head, into: &unedited)
            try HTTP1HeadWriter.writeRequestHead(head, removingFieldsWhere: head.isHopByHop, into: &stripped)
        case .response:
            try HTTP1HeadWriter.writeResponseHead(head, into: &unedited)
            try HTTP1HeadWriter.writeResponseHead(head, removingFieldsWhere: head.isHopByHop, into: &stripped)
        }
        #expect(unedited == head.bytes)
        var strippedParser = HTTP1HeadParser(limits: limits)
        let reparsed = try #require(parse(&strippedParser, stripped, role, &fields).head)
        #expect(reparsed.bodyFraming == head.bodyFraming)
        #expect(!reparsed.fields.contains(where: reparsed.isHopByHop))
    }
}
