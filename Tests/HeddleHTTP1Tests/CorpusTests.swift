import Foundation
import NIOCore
import Testing

@testable import HeddleHTTP1

/// Replays `Corpus/<identifier>/*.http`: raw requests, mostly request-smuggling attempts, each
/// of which must be rejected with the error its directory names, however its bytes arrive.
@Suite("Corpus of rejected requests")
struct CorpusTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let identifier: String
        let name: String
        let bytes: [UInt8]

        var testDescription: String { "\(identifier)/\(name)" }
    }

    static let corpusDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")

    static func loadCases() throws -> [Case] {
        let files = FileManager.default
        var cases: [Case] = []
        for identifier in try files.contentsOfDirectory(atPath: corpusDirectory.path).sorted() where !identifier.hasPrefix(".") {
            let directory = corpusDirectory.appendingPathComponent(identifier)
            for name in try files.contentsOfDirectory(atPath: directory.path).sorted() where name.hasSuffix(".http") {
                let data = try Data(contentsOf: directory.appendingPathComponent(name))
                cases.append(Case(identifier: identifier, name: name, bytes: Array(data)))
            }
        }
        return cases
    }

    @Test func corpusIsPresent() throws {
        #expect(try Self.loadCases().count >= 15)
    }

    @Test(arguments: try loadCases())
    func rejectsWithTheExpectedError(corpusCase: Case) {
        var fields: [HTTP1Field] = []
        let whole = HTTP1HeadParser.parseRequest(buffer(corpusCase.bytes), fields: &fields)
        #expect(whole.error?.identifier == corpusCase.identifier)

        var parser = HTTP1HeadParser()
        var input = ByteBuffer()
        var result = HTTP1ParseResult.needMoreBytes
        for byte in corpusCase.bytes where result.needsMoreBytes {
            input.writeInteger(byte)
            result = parser.parseRequest(input, fields: &fields)
        }
        #expect(result.error?.identifier == corpusCase.identifier)
    }
}
