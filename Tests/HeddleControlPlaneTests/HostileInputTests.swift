import HeddleAPI
import HeddleControlPlane
import Testing

/// Whatever is applied, the control plane answers: no crash, no hang, nothing stored.
@Suite("Hostile input")
struct HostileInputTests {
    @Test("An alias bomb is refused before it is expanded")
    func aliasBomb() async throws {
        var yaml = "apiVersion: heddle.dev/v1alpha1\nkind: Service\nmetadata: {name: bomb}\nspec:\n  endpoints: []\n  l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...8 {
            let previous = Array(repeating: "*l\(level - 1)", count: 10).joined(separator: ", ")
            yaml += "  l\(level): &l\(level) [\(previous)]\n"
        }
        let error = await controlPlaneError { _ = try await makeControlPlane().apply(yaml: yaml) }
        #expect(error?.errors.map(\.reason) == ["the document expands to more than 100000 YAML nodes (through its aliases)"])
    }

    @Test("Deep nesting, binary junk, a huge scalar and odd documents are refused with reasons")
    func junk() async throws {
        let store = TestStore()
        let controlPlane = try await makeControlPlane(store: store)
        let inputs = [
            String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000),
            String(decoding: (0..<512).map { UInt8(truncatingIfNeeded: $0 &* 37) }, as: UTF8.self),
            "apiVersion: heddle.dev/v1alpha1\nkind: Service\nmetadata: {name: \(String(repeating: "a", count: 100_000))}\nspec: {endpoints: []}",
            "- a\n- b\n",
            "just a scalar",
            "apiVersion: heddle.dev/v1alpha1\nkind: Service\nmetadata: {name: web}\nspec: {endpoints: [{address: 999.1.1.1:99999}]}",
            "{kind: Service, kind: HTTPRoute}",
            "apiVersion: heddle.dev/v1alpha1\nkind: Service\nmetadata: {name: web}\nspec: {endpoints: [], dnsRefreshSeconds: 99999999999999999999999}",
        ]
        for input in inputs {
            let error = await controlPlaneError { _ = try await controlPlane.apply(yaml: input) }
            #expect(error?.code == .invalid, "input: \(input.prefix(60))")
            #expect(error?.errors.isEmpty == false)
        }
        #expect(store.writeCount == 0)
    }
}
