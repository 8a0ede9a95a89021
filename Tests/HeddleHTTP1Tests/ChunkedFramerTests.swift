import NIOCore
import Testing

@testable import HeddleHTTP1

@Suite("ChunkedFramer")
struct ChunkedFramerTests {
    static let validBodies = [
        "0\r\n\r\n",
        "5\r\nhello\r\n0\r\n\r\n",
        "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        "A\r\n0123456789\r\n0\r\n\r\n",
        "a\r\n0123456789\r\n000\r\n\r\n",
        "0005\r\nhello\r\n0\r\n\r\n",
        "1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n",
        "5;name=value\r\nhello\r\n0;last\r\n\r\n",
        "5 ; a = b ;\tc\r\nhello\r\n0\r\n\r\n",
        "5;a=\"quoted; \\\"value\\\" \"\r\nhello\r\n0\r\n\r\n",
        "5;a=\"\"\r\nhello\r\n0\r\n\r\n",
        "0\r\nX-Checksum: abc\r\nY:\r\nZ: a b\t\r\n\r\n",
        "3\r\n\r\n\r\r\n0\r\n\r\n",
    ]

    private func frame(_ text: String, limits: HTTP1Limits = HTTP1Limits()) -> HTTP1BodyStep {
        var framer = ChunkedFramer(limits: limits)
        return framer.advance(over: buffer(text))
    }

    @Test(arguments: validBodies)
    func framesAValidBody(body: String) {
        #expect(frame(body + "GET / HTTP/1.1\r\n") == .finished(consumed: body.utf8.count))
    }

    @Test(arguments: validBodies)
    func splittingAtEveryByteGivesTheSameResult(body: String) {
        let bytes = Array((body + "NEXT").utf8)
        for split in 0...bytes.count {
            var framer = ChunkedFramer()
            let first = framer.advance(over: buffer(Array(bytes[..<split])))
            switch first {
            case .finished(let consumed):
                #expect(consumed == body.utf8.count, "split at \(split)")
            case .inProgress(let consumed):
                #expect(consumed == split)
                let second = framer.advance(over: buffer(Array(bytes[split...])))
                #expect(second == .finished(consumed: body.utf8.count - split), "split at \(split)")
            case .error(let error):
                Issue.record("split at \(split): \(error)")
            }
            #expect(framer.isFinished)
        }
    }

    @Test(arguments: validBodies)
    func oneByteAtATimeGivesTheSameResult(body: String) {
        var framer = ChunkedFramer()
        var total = 0
        for byte in body.utf8 {
            #expect(!framer.isFinished)
            guard let consumed = framer.advance(over: buffer([byte])).consumed else {
                Issue.record("error at byte \(total)")
                return
            }
            #expect(consumed == 1)
            total += consumed
        }
        #expect(framer.isFinished)
        #expect(total == body.utf8.count)
    }

    @Test func framesLargeChunksInBulk() {
        var framer = ChunkedFramer()
        let data = String(repeating: "x", count: 100_000)
        #expect(framer.advance(over: buffer("186A0\r\n")) == .inProgress(consumed: 7))
        #expect(framer.advance(over: buffer(data)) == .inProgress(consumed: 100_000))
        #expect(framer.advance(over: buffer("\r\n0\r\n\r\nrest")) == .finished(consumed: 7))
    }

    @Test func staysFinishedAndRepeatsErrors() {
        var finished = ChunkedFramer()
        #expect(finished.advance(over: buffer("0\r\n\r\n")) == .finished(consumed: 5))
        #expect(finished.advance(over: buffer("more")) == .finished(consumed: 0))
        #expect(finished.advance(over: ByteBuffer()) == .finished(consumed: 0))

        var failed = ChunkedFramer()
        #expect(failed.advance(over: buffer("z")) == .error(.invalidChunkSize))
        #expect(failed.advance(over: buffer("0\r\n\r\n")) == .error(.invalidChunkSize))
        #expect(failed.advance(over: ByteBuffer()) == .error(.invalidChunkSize))
        #expect(!failed.isFinished)
    }

    @Test func acceptsTheLargestChunkSize() {
        #expect(frame("4000000000000000\r\n") == .inProgress(consumed: 18))
        #expect(frame(String(repeating: "0", count: 31) + "1\r\nx\r\n0\r\n\r\n").consumed == 42)
    }

    @Test(arguments: [
        ("\r\n", "invalid-chunk-size"),
        ("G\r\n", "invalid-chunk-size"),
        ("-1\r\n", "invalid-chunk-size"),
        ("+1\r\n", "invalid-chunk-size"),
        ("0x5\r\nhello\r\n", "invalid-chunk-size"),
        (" 5\r\nhello\r\n", "invalid-chunk-size"),
        ("5g\r\nhello\r\n", "invalid-chunk-size"),
        ("4000000000000001\r\n", "chunk-size-too-large"),
        ("FFFFFFFFFFFFFFFFF\r\n", "chunk-size-too-large"),
        (String(repeating: "0", count: 33) + "\r\n", "chunk-size-too-large"),
        ("5 \r\nhello\r\n", "invalid-chunk-extension"),
        ("5;\r\nhello\r\n", "invalid-chunk-extension"),
        ("5;a=\r\nhello\r\n", "invalid-chunk-extension"),
        ("5;a b\r\nhello\r\n", "invalid-chunk-extension"),
        ("5;a=b \r\nhello\r\n", "invalid-chunk-extension"),
        ("5;a =\r\nhello\r\n", "invalid-chunk-extension"),
        ("5;a=\"x\r\nhello\r\n", "invalid-chunk-extension"),
        ("5;a=\"x\"y\r\nhello\r\n", "invalid-chunk-extension"),
        ("5;a=\u{0}\r\nhello\r\n", "invalid-chunk-extension"),
        ("5;a=\"\u{1}\"\r\nhello\r\n", "invalid-chunk-extension"),
        ("5;@\r\nhello\r\n", "invalid-chunk-extension"),
        ("5\r\nhelloX\r\n0\r\n\r\n", "invalid-chunk-terminator"),
        ("5\r\nhello\rX0\r\n\r\n", "invalid-chunk-terminator"),
        ("5\r\nhello0\r\n\r\n", "invalid-chunk-terminator"),
        ("5\nhello\r\n", "bare-line-feed"),
        ("5;a\nhello\r\n", "bare-line-feed"),
        ("5;a=\"x\nhello\r\n", "bare-line-feed"),
        ("5\r\rhello\r\n", "bare-carriage-return"),
        ("0\r\n\n", "bare-line-feed"),
        ("0\r\n\rX", "bare-carriage-return"),
        ("0\r\nX: y\n\r\n", "bare-line-feed"),
        ("0\r\nX: y\rZ\r\n", "bare-carriage-return"),
        ("0\r\nX : y\r\n\r\n", "invalid-trailer-field"),
        ("0\r\n: y\r\n\r\n", "invalid-trailer-field"),
        ("0\r\nX\r\n\r\n", "invalid-trailer-field"),
        ("0\r\nX: a\u{0}b\r\n\r\n", "invalid-trailer-field"),
        ("0\r\nX: a\r\n folded\r\n\r\n", "obsolete-line-folding"),
    ])
    func rejects(body: String, identifier: String) {
        guard case .error(let error) = frame(body) else {
            Issue.record("accepted \(body.debugDescription)")
            return
        }
        #expect(error.identifier == identifier)
    }

    @Test func limitsChunkExtensions() {
        let limits = HTTP1Limits(maxChunkExtensionBytes: 8)
        #expect(frame("5;abcdefg\r\nhello\r\n0\r\n\r\n", limits: limits).consumed == 23)
        #expect(frame("5;abcdefgh\r\nhello\r\n", limits: limits) == .error(.chunkExtensionTooLong))
        #expect(frame("5;abcd\r\nhello\r\n0;abcdefg\r\n\r\n", limits: limits).consumed == 28)
    }

    @Test func limitsTheTrailerSection() {
        let limits = HTTP1Limits(maxTrailerBytes: 10)
        #expect(frame("0\r\nA: 123\r\n\r\n", limits: limits).consumed == 13)
        #expect(frame("0\r\nA: 1234\r\n\r\n", limits: limits) == .error(.trailerSectionTooLarge))
        let endless = "0\r\n" + String(repeating: "X: y\r\n", count: 2000)
        #expect(frame(endless) == .error(.trailerSectionTooLarge))
    }

    @Test func mutatedBodiesNeverCrash() {
        var generator = SeededGenerator(seed: 0x4348_554E_4B)
        var finished = 0
        var errors = 0
        for _ in 0..<20_000 {
            var bytes = Array(Self.validBodies.randomElement(using: &generator)!.utf8)
            for _ in 0..<Int.random(in: 1...3, using: &generator) where !bytes.isEmpty {
                let position = Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: bytes[position] = UInt8.random(in: 0...255, using: &generator)
                case 1: bytes.insert(Array("\r\n;=\" 0aF".utf8).randomElement(using: &generator)!, at: position)
                default: bytes.remove(at: position)
                }
            }
            var whole = ChunkedFramer(limits: HTTP1Limits(maxChunkExtensionBytes: 16, maxTrailerBytes: 32))
            let result = whole.advance(over: buffer(bytes))
            var pieces = ChunkedFramer(limits: HTTP1Limits(maxChunkExtensionBytes: 16, maxTrailerBytes: 32))
            let split = Int.random(in: 0...bytes.count, using: &generator)
            var splitResult = pieces.advance(over: buffer(Array(bytes[..<split])))
            if case .inProgress = splitResult {
                splitResult = pieces.advance(over: buffer(Array(bytes[split...])))
                if case .inProgress(let consumed) = splitResult { splitResult = .inProgress(consumed: split + consumed) }
                if case .finished(let consumed) = splitResult { splitResult = .finished(consumed: split + consumed) }
            }
            #expect(splitResult == result)
            switch result {
            case .finished(let consumed):
                finished += 1
                #expect(consumed <= bytes.count)
                #expect(bytes[..<consumed].suffix(2) == [ASCII.carriageReturn, ASCII.lineFeed])
            case .inProgress(let consumed):
                #expect(consumed == bytes.count)
            case .error:
                errors += 1
            }
        }
        #expect(finished > 1000)
        #expect(errors > 1000)
    }
}
