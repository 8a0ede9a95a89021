import Foundation
import HeddleCore
import Testing

@Suite("HostPort")
struct HostPortTests {
    @Test("host:port is read for IPv4, bracketed IPv6 and DNS names", arguments: [
        ("10.0.0.1:8080", "10.0.0.1", 8080),
        ("127.0.0.1:0", "127.0.0.1", 0),
        ("0.0.0.0:65535", "0.0.0.0", 65535),
        ("[::1]:8080", "::1", 8080),
        ("[fd00::12:34]:443", "fd00::12:34", 443),
        ("[::ffff:10.0.0.1]:80", "::ffff:10.0.0.1", 80),
        ("api.internal:80", "api.internal", 80),
        ("web:4140", "web", 4140),
        ("my-service.ns.svc.cluster.local:9000", "my-service.ns.svc.cluster.local", 9000),
        ("under_score:1", "under_score", 1),
    ])
    func parses(text: String, host: String, port: Int) throws {
        let value = try #require(HostPort(text))
        #expect(value == HostPort(host: host, port: port))
        #expect(value.description == text)
    }

    @Test("Anything not host:port, or a port out of range, is refused", arguments: [
        "10.0.0.1", "web", "[::1]", "::1", "::1:8080", "10.0.0.1:", ":8080", "[]:80", "[10.0.0.1]:80",
        "[::1:80", "[::1]8080", "[::1]:", "10.0.0.1:65536", "10.0.0.1:99999", "10.0.0.1:-1",
        "web:http", "web:80a", "web :80", "we b:80", "web/x:80", "wéb:80", "web:８０", "",
    ])
    func refused(text: String) {
        #expect(HostPort(text) == nil)
    }

    /// A port is digits only; `Int(_:)` also takes a sign, which must not slip through.
    @Test("A port with a sign is refused", arguments: ["web:+80", "web:-0", "[::1]:+443", "10.0.0.1:+0"])
    func signedPort(text: String) {
        #expect(HostPort(text) == nil)
    }

    @Test("IPv4 and IPv6 literals are told from DNS names", arguments: [
        ("10.0.0.1", true), ("0.0.0.0", true), ("255.255.255.255", true), ("::1", true), ("fd00::1", true),
        ("web", false), ("api.internal", false), ("256.0.0.1", false), ("1.2.3", false), ("1.2.3.4.5", false),
        ("1.2.3.com", false), ("1..2.3", false), ("1234.1.1.1", false), ("10.0.0.1.example.com", false),
    ])
    func ipLiteral(host: String, literal: Bool) {
        #expect(HostPort(host: host, port: 80).isIPLiteral == literal)
    }

    @Test("IPv6 hosts are written back in brackets")
    func description() {
        #expect(HostPort(host: "::1", port: 80).description == "[::1]:80")
        #expect(HostPort(host: "10.0.0.1", port: 80).description == "10.0.0.1:80")
        #expect(HostPort(host: "web", port: 4140).description == "web:4140")
    }

    @Test("HostPort encodes as its text and decodes from it")
    func codable() throws {
        let values = [HostPort(host: "::1", port: 9901), HostPort(host: "web", port: 80)]
        let data = try JSONEncoder().encode(values)
        #expect(String(decoding: data, as: UTF8.self) == #"["[::1]:9901","web:80"]"#)
        #expect(try JSONDecoder().decode([HostPort].self, from: data) == values)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([HostPort].self, from: Data(#"["nowhere"]"#.utf8))
        }
    }
}
