import HeddleAPI
import Foundation
import Testing

/// Deltas between whole configurations, and applying them.
@Suite("Config push deltas")
struct ConfigPushDeltaTests {
    static func resource(_ key: String, _ text: String) -> PushedResource {
        PushedResource(key: key, document: text)
    }

    let base = ConfigPush(version: 4, resources: [
        resource("Service/a", "a: 1\n"), resource("Service/b", "b: 1\n"), resource("HTTPRoute/r", "r: 1\n"),
    ])

    @Test func aDeltaCarriesOnlyWhatChangedAndWhatWentAndRebuildsTheWhole() throws {
        let next = ConfigPush(version: 9, resources: [
            Self.resource("Service/a", "a: 1\n"), Self.resource("Service/b", "b: 2\n"), Self.resource("Service/c", "c: 1\n"),
        ])
        let delta = try #require(next.delta(from: base))
        #expect(delta.isDelta && delta.baseVersion == 4 && delta.version == 9)
        #expect(delta.resources.map(\.key) == ["Service/b", "Service/c"])
        #expect(delta.removed == ["HTTPRoute/r"])
        #expect(delta.applied(to: base) == next)
    }

    @Test func nothingChangedIsNoDelta() {
        #expect(ConfigPush(version: 5, resources: base.resources).delta(from: base) == nil)
    }

    @Test func aDeltaOnAnotherVersionDoesNotApply() {
        let delta = ConfigPush(version: 6, baseVersion: 5, changed: [], removed: ["Service/a"])
        #expect(delta.applied(to: base) == nil)
        #expect(delta.applied(to: nil) == nil)
        #expect(base.applied(to: nil) == base, "a whole configuration applies to anything")
    }

    @Test func theDigestIsOfTheContentWhateverItsOrderAndVersion() {
        let reordered = ConfigPush(version: 12, resources: base.resources.reversed())
        #expect(reordered.digest == base.digest)
        #expect(base.digest.count == 64 && base.digest.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        let changed = ConfigPush(version: 4, resources: [Self.resource("Service/a", "a: 2\n"), base.resources[1], base.resources[2]])
        #expect(changed.digest != base.digest)
        // Key and document are framed by length: moving text from one to the other is a change.
        #expect(ConfigPush(version: 1, resources: [Self.resource("ab", "c")]).digest != ConfigPush(version: 1, resources: [Self.resource("a", "bc")]).digest)
        #expect(ConfigPush(version: 1, resources: []).digest == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func anEmptyDeltaChangesNothingAndMovesTheVersion() throws {
        let resumed = ConfigPush(version: 7, baseVersion: 4, changed: [], removed: [])
        #expect(resumed.changesNothing && !base.changesNothing)
        let whole = try #require(resumed.applied(to: base))
        #expect(whole.version == 7 && whole.resources == base.resources)
    }

    @Test func aResumePointIsBothPartsOrNeither() throws {
        let digest = String(repeating: "0f", count: 32)
        #expect(try WatchResume.parse(version: nil, digest: nil) == nil)
        #expect(try WatchResume.parse(version: "12", digest: digest) == WatchResume(version: 12, digest: digest))
        #expect(WatchResume(base) == WatchResume(version: 4, digest: base.digest))
        #expect(throws: WatchResumeError.self) { try WatchResume.parse(version: "12", digest: nil) }
        #expect(throws: WatchResumeError.self) { try WatchResume.parse(version: "12", digest: String(repeating: "0F", count: 32)) }
    }

    @Test func wireFormOfWholeAndDelta() throws {
        let whole = try JSONDecoder().decode(ConfigPush.self, from: Data(#"{"version":1,"resources":[{"key":"Service/a","document":"a: 1\n"}]}"#.utf8))
        #expect(!whole.isDelta && whole.removed.isEmpty && whole.yaml == "a: 1\n")
        let delta = ConfigPush(version: 2, baseVersion: 1, changed: [], removed: ["Service/a"])
        let decoded = try JSONDecoder().decode(ConfigPush.self, from: try JSONEncoder().encode(delta))
        #expect(decoded == delta)
    }
}
