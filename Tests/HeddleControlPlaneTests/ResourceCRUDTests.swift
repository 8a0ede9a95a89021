import HeddleAPI
import HeddleControlPlane
import Testing

/// `get`, `list` and `delete` with compare-and-swap.
@Suite("ControlPlane resources")
struct ResourceCRUDTests {
    @Test("get returns the document as applied with its revisions; list filters by kind and orders by kind then name")
    func getAndList() async throws {
        let controlPlane = try await makeControlPlane()
        _ = try await controlPlane.apply(yaml: stream(serviceYAML("web"), serviceYAML("api"), routeYAML("shop", backends: ["web"])))
        let web = try await controlPlane.get(kind: "service", name: "web")
        #expect(web.kind == "Service")
        #expect(web.document == serviceYAML("web"))
        #expect(web.revision == 1)
        #expect(web.createdRevision == 1)
        #expect(try await controlPlane.list().items.map { "\($0.kind)/\($0.name)" } == ["HTTPRoute/shop", "Service/api", "Service/web"])
        #expect(try await controlPlane.list(kind: "Service").items.map(\.name) == ["api", "web"])
        #expect(try await controlPlane.list().revision == 3)
    }

    @Test("Unknown kinds and Proxy are invalid; a missing resource is not found")
    func errors() async throws {
        let controlPlane = try await makeControlPlane()
        let unknown = await controlPlaneError { _ = try await controlPlane.get(kind: "Gadget", name: "x") }
        #expect(unknown?.code == .invalid)
        #expect(unknown?.message == "unknown kind 'Gadget' (the control plane keeps Service, HTTPRoute, AuthorizationPolicy)")
        let proxy = await controlPlaneError { _ = try await controlPlane.list(kind: "Proxy") }
        #expect(proxy?.code == .invalid)
        let missing = await controlPlaneError { _ = try await controlPlane.get(kind: "Service", name: "web") }
        #expect(missing?.code == .notFound)
        #expect(missing?.message == "Service/web does not exist")
    }

    @Test("delete with a stale expectedRevision is a conflict naming the current revision; with the current one it deletes")
    func compareAndSwap() async throws {
        let store = TestStore()
        let controlPlane = try await makeControlPlane(store: store)
        _ = try await controlPlane.apply(yaml: serviceYAML("web"))
        _ = try await controlPlane.apply(yaml: serviceYAML("web", endpoints: ["10.0.0.2:80"]))
        let conflict = await controlPlaneError { _ = try await controlPlane.delete(kind: "Service", name: "web", expectedRevision: 1) }
        #expect(conflict?.code == .conflict)
        #expect(conflict?.currentRevision == 2)
        #expect(conflict?.message == "Service/web is at revision 2, not 1: it changed since it was read")
        #expect(try await store.resource(kind: "Service", name: "web") != nil)

        let deleted = try await controlPlane.delete(kind: "Service", name: "web", expectedRevision: 2)
        #expect(deleted == DeleteResult(kind: "Service", name: "web", revision: 3))
        #expect(try await store.resource(kind: "Service", name: "web") == nil)
        #expect(await controlPlane.revision == 3)

        let again = await controlPlaneError { _ = try await controlPlane.delete(kind: "Service", name: "web") }
        #expect(again?.code == .notFound)
    }
}
