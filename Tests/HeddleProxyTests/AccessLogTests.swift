import Foundation
import HeddleCore
import Testing

@testable import HeddleProxy

/// `AccessLog`: JSON string quoting and the timestamp. `record` writes straight to file
/// descriptor 1, which a unit test cannot capture without racing the test runner's own output;
/// the whole line's format is covered by the end-to-end tests, which read the proxy's stdout.
@Suite("AccessLog")
struct AccessLogTests {
    /// `text` quoted, then decoded back by a real JSON parser (as the only element of an array,
    /// so any JSON value is accepted at the top level).
    func roundTrip(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let json = "[" + AccessLog.quote(text) + "]"
        let parsed = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [Any]
        return try #require(parsed?.first as? String, "not a JSON string: \(json)", sourceLocation: sourceLocation)
    }

    @Test("Quoting escapes quotes, backslashes and the common control characters", arguments: [
        ("plain", #""plain""#),
        ("", #""""#),
        (#"say "hi""#, #""say \"hi\"""#),
        (#"C:\path\"#, #""C:\\path\\""#),
        ("a\nb", #""a\nb""#),
        ("a\r\nb", #""a\r\nb""#),
        ("tab\there", #""tab\there""#),
        ("/slash/", #""/slash/""#),
    ])
    func escapes(text: String, quoted: String) {
        #expect(AccessLog.quote(text) == quoted)
    }

    @Test("Other control characters are written as \\u00XX, in lowercase hex", arguments: [
        ("\u{0}", #""\u0000""#),
        ("\u{1}x", #""\u0001x""#),
        ("\u{8}", #""\u0008""#),
        ("\u{B}\u{C}", #""\u000b\u000c""#),
        ("\u{1B}[0m", #""\u001b[0m""#),
        ("\u{1F}", #""\u001f""#),
    ])
    func controlCharacters(text: String, quoted: String) {
        #expect(AccessLog.quote(text) == quoted)
    }

    @Test("Printable ASCII, DEL and non-ASCII pass through unescaped")
    func passThrough() {
        #expect(AccessLog.quote(" ~\u{7F}") == "\" ~\u{7F}\"")
        #expect(AccessLog.quote("caf\u{E9} \u{1F44D} \u{2028}") == "\"caf\u{E9} \u{1F44D} \u{2028}\"")
    }

    @Test("Every quoted string is valid JSON that decodes to the original", arguments: [
        "plain",
        "",
        "\"quoted\" and \\backslashed\\",
        "line\nbreak\r\nand\ttab",
        "controls \u{0}\u{1}\u{7}\u{8}\u{B}\u{C}\u{E}\u{1F}\u{7F}",
        "unicode caf\u{E9} \u{1F44D} \u{2028}\u{2029}",
        "GET /x?a=\"1\"&b=\\ HTTP/1.1",
        "\\u0041 is not unescaped",
    ])
    func validJSON(text: String) throws {
        #expect(try roundTrip(text) == text)
    }

    @Test("Every byte value below 0x80 round-trips")
    func allASCII() throws {
        let text = String(decoding: (0..<0x80).map { UInt8($0) }, as: UTF8.self)
        #expect(try roundTrip(text) == text)
    }

    @Test("An object built the way record builds its line parses with every field")
    func lineShapeParses() throws {
        // The fields `record` quotes (listener, method, host, target, route, backend, endpoint,
        // heddle_error) carry client-controlled text; numbers and null are written bare.
        let hostile = "evil\"}\n{\"injected\":1,\"x\":\"\\"
        let line = "{\"time\":\(AccessLog.timestamp()),\"listener\":\(AccessLog.quote("outbound")),\"method\":\(AccessLog.quote("GET"))"
            + ",\"host\":\(AccessLog.quote(hostile)),\"target\":\(AccessLog.quote("/p?q=\u{1}"))"
            + ",\"route\":null,\"status\":404,\"duration_ms\":\(Double(1_234_567) / 1e6),\"heddle_error\":\(AccessLog.quote("no-route"))}"
        #expect(!line.contains("\n"), "one record is one line")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["host"] as? String == hostile)
        #expect(object["target"] as? String == "/p?q=\u{1}")
        #expect(object["injected"] == nil)
        #expect(object["status"] as? Int == 404)
        #expect(object["route"] is NSNull)
        #expect((object["duration_ms"] as? Double).map { abs($0 - 1.234567) < 1e-9 } == true)
    }

    @Test("The timestamp is epoch seconds with three decimals")
    func timestamp() throws {
        let stamp = AccessLog.timestamp()
        let parts = stamp.split(separator: ".", omittingEmptySubsequences: false)
        #expect(parts.count == 2)
        #expect(parts.first.map { !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) } == true)
        #expect(parts.last.map { $0.count == 3 && $0.allSatisfy(\.isNumber) } == true)
        let seconds = try #require(Double(stamp))
        // After 2020-01-01 and before 2100-01-01: a Unix time in seconds, not milliseconds.
        #expect(seconds > 1_577_836_800 && seconds < 4_102_444_800)
    }

    @Test("The log is enabled unless its mode is off", arguments: [
        (AccessLogSpec.Mode.off, false), (.full, true), (.sampled, true),
    ])
    func enabled(mode: AccessLogSpec.Mode, enabled: Bool) {
        #expect(AccessLog(spec: AccessLogSpec(mode: mode)).isEnabled == enabled)
    }
}
