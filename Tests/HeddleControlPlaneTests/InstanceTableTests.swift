import HeddleCore
import Testing

@testable import HeddleControlPlane

/// `InstanceTable`: the address index follows every insertion, change and removal.
@Suite("InstanceTable")
struct InstanceTableTests {
    static func instance(_ id: String, _ service: String, _ host: String, _ port: Int) -> RegisteredInstance {
        RegisteredInstance(
            stored: StoredInstance(id: id, service: service, address: host, port: port, protocol: "http2"),
            lease: InstanceLease(duration: .seconds(10), renewedAt: Instant(nanoseconds: 0)), reportedHealthy: true)
    }

    @Test func theAddressIndexFollowsEveryChange() {
        var table = InstanceTable(["a": Self.instance("a", "web", "10.0.0.1", 80)])
        #expect(table.id(service: "web", host: "10.0.0.1", port: 80) == "a")
        #expect(table.id(service: "api", host: "10.0.0.1", port: 80) == nil, "the same address in another service is another instance")
        table["b"] = Self.instance("b", "web", "10.0.0.2", 80)
        #expect(table.id(service: "web", host: "10.0.0.2", port: 80) == "b" && table.count == 2)
        // An instance that moves leaves its old address free.
        table["b"] = Self.instance("b", "web", "10.0.0.3", 80)
        #expect(table.id(service: "web", host: "10.0.0.2", port: 80) == nil)
        #expect(table.id(service: "web", host: "10.0.0.3", port: 80) == "b")
        table["a"] = nil
        #expect(table.id(service: "web", host: "10.0.0.1", port: 80) == nil && table.count == 1 && table["a"] == nil)
        #expect(Set(table.keys) == ["b"])
    }
}
