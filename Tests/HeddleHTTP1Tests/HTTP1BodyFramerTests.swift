import NIOCore
import Testing

@testable import HeddleHTTP1

@Suite("HTTP1BodyFramer")
struct HTTP1BodyFramerTests {
    @Test(arguments: [HTTP1BodyFraming.none, .contentLength(0)])
    func anEmptyBodyFinishesAtOnce(framing: HTTP1BodyFraming) {
        var framer = HTTP1BodyFramer(framing: framing)
        #expect(framer.isFinished)
        #expect(framer.canEndAtClose)
        #expect(framer.advance(over: buffer("GET / HTTP/1.1\r\n")) == .finished(consumed: 0))
    }

    @Test func countsAContentLengthBody() {
        var framer = HTTP1BodyFramer(framing: .contentLength(10))
        #expect(framer.advance(over: buffer("0123")) == .inProgress(consumed: 4))
        #expect(!framer.isFinished)
        #expect(!framer.canEndAtClose)
        #expect(framer.advance(over: ByteBuffer()) == .inProgress(consumed: 0))
        #expect(framer.advance(over: buffer("456789NEXT")) == .finished(consumed: 6))
        #expect(framer.isFinished)
        #expect(framer.advance(over: buffer("NEXT")) == .finished(consumed: 0))
    }

    @Test func framesAChunkedBody() {
        var framer = HTTP1BodyFramer(framing: .chunked, limits: HTTP1Limits(maxTrailerBytes: 4))
        #expect(framer.advance(over: buffer("5\r\nhel")) == .inProgress(consumed: 6))
        #expect(!framer.canEndAtClose)
        #expect(framer.advance(over: buffer("lo\r\n0\r\n\r\nNEXT")) == .finished(consumed: 9))
        #expect(framer.isFinished)
        var limited = HTTP1BodyFramer(framing: .chunked, limits: HTTP1Limits(maxTrailerBytes: 4))
        #expect(limited.advance(over: buffer("0\r\nA: b\r\n\r\n")) == .error(.trailerSectionTooLarge))
    }

    @Test func aCloseDelimitedBodyTakesEverything() {
        var framer = HTTP1BodyFramer(framing: .untilClose)
        #expect(framer.advance(over: buffer("HTTP/1.1 200 OK\r\n")) == .inProgress(consumed: 17))
        #expect(!framer.isFinished)
        #expect(framer.canEndAtClose)
    }

    @Test func framesPipelinedRequests() {
        var input = buffer(
            "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
                + "POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"
                + "GET /c HTTP/1.1\r\nHost: h\r\n\r\n"
                + "GET /d HTTP/1.1\r\nHost:"
        )
        var parser = HTTP1HeadParser()
        var fields: [HTTP1Field] = []
        var forwarded: [(String, String)] = []
        while true {
            let result = parser.parseRequest(input, fields: &fields)
            guard case .head(let head, let consumed) = result else {
                #expect(result.needsMoreBytes)
                break
            }
            input.moveReaderIndex(forwardBy: consumed)
            var framer = HTTP1BodyFramer(framing: head.bodyFraming)
            let step = framer.advance(over: input)
            guard case .finished(let bodyLength) = step else {
                Issue.record("\(step)")
                return
            }
            let body = input.readString(length: bodyLength)
            forwarded.append((head.target, body ?? "missing"))
        }
        #expect(forwarded.map(\.0) == ["/a", "/b", "/c"])
        #expect(forwarded.map(\.1) == ["abc", "1\r\nx\r\n0\r\n\r\n", ""])
        #expect(String(buffer: input) == "GET /d HTTP/1.1\r\nHost:")
    }
}
