import HeddleAPI
import HeddleControlPlane
import Testing

/// Every resource judged with all the others: a refused one is named with its reasons and
/// never blocks the rest.
@Suite("Resource status")
struct ResourceStatusTests {
    @Test("A route whose backend names no service is stored but refused, with the field path; the others are accepted")
    func routeWithMissingBackend() async throws {
        let controlPlane = try await makeControlPlane()
        let result = try await controlPlane.apply(yaml: stream(serviceYAML("web"), routeYAML("shop", backends: ["web", "cart"]), routeYAML("blog", backends: ["web"])))
        #expect(result.items.map(\.action) == [.created, .created, .created])
        let shop = try await controlPlane.get(kind: "HTTPRoute", name: "shop")
        #expect(shop.status.state == .refused)
        #expect(shop.status.errors == [FieldError(resource: "HTTPRoute/shop", path: "spec.rules[0].backendRefs[1].name", reason: "service 'cart' is not defined")])
        #expect(result.items[1].status == shop.status)
        #expect(try await controlPlane.get(kind: "HTTPRoute", name: "blog").status.state == .accepted)
        #expect(try await controlPlane.get(kind: "Service", name: "web").status.state == .accepted)
    }

    @Test("Applying the missing service later accepts the route; deleting it refuses the route again")
    func statusFollowsTheOthers() async throws {
        let controlPlane = try await makeControlPlane()
        _ = try await controlPlane.apply(yaml: routeYAML("shop", backends: ["cart"]))
        #expect(try await controlPlane.get(kind: "HTTPRoute", name: "shop").status.state == .refused)
        _ = try await controlPlane.apply(yaml: serviceYAML("cart"))
        #expect(try await controlPlane.get(kind: "HTTPRoute", name: "shop").status.state == .accepted)
        _ = try await controlPlane.delete(kind: "Service", name: "cart")
        #expect(try await controlPlane.get(kind: "HTTPRoute", name: "shop").status.state == .refused)
    }

    @Test("A route to a tcp service is refused; listeners in parentRefs are a proxy's business and not judged")
    func proxyIndependentChecks() async throws {
        let controlPlane = try await makeControlPlane()
        _ = try await controlPlane.apply(yaml: stream(
            serviceYAML("db", protocol: "tcp"), serviceYAML("web"),
            routeYAML("to-db", backends: ["db"]), routeYAML("edge-web", backends: ["web"], parentRefs: ["edge"])))
        let toDB = try await controlPlane.get(kind: "HTTPRoute", name: "to-db")
        #expect(toDB.status.errors.map(\.reason) == ["service 'db' speaks tcp and cannot be an HTTP route's backend"])
        #expect(try await controlPlane.get(kind: "HTTPRoute", name: "edge-web").status.state == .accepted)
    }
}
