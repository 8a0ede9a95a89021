import HeddleAPI
import NIOCore
import Testing

@testable import HeddleControlPlane

/// A push's JSON line is encoded once for every watch stream that sends the same push.
@Suite("PushEncodings")
struct PushEncodingsTests {
    static func delta(_ version: Int64, weight: Int) -> ConfigPush {
        ConfigPush(
            version: version, baseVersion: version - 1,
            changed: [PushedResource(key: "Service/shared", document: "kind: Service\nmetadata: {name: shared}\nspec: {endpoints: [{address: 10.0.0.1:80, weight: \(weight)}]}\n")],
            removed: [])
    }

    @Test("The same push gives the same line, as JSONBody writes it; another push another line; the cache stays bounded")
    func encodesOnce() throws {
        let encodings = PushEncodings(limit: 2)
        let push = Self.delta(7, weight: 3)
        let line = encodings.line(for: push)
        var expected = JSONBody.encode(push)
        expected.writeString("\n")
        #expect(line == expected)
        #expect(encodings.line(for: Self.delta(7, weight: 3)) == line, "an equal push built elsewhere finds it")
        #expect(encodings.line(for: Self.delta(7, weight: 4)) != line)
        // Past the limit the cache starts over, and still answers correctly.
        _ = encodings.line(for: Self.delta(8, weight: 1))
        #expect(encodings.line(for: push) == expected)
        let decoded = try JSONBody.decode(ConfigPush.self, from: line)
        #expect(decoded == push)
    }
}
