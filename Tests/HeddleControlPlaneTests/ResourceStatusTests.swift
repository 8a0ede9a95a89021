import HeddleAPI
import HeddleControlPlane
import HeddleCore
import Testing

/// Every resource judged with all the others: a refused one is named with its reasons and
/// never blocks the rest.
@Suite("Resource status")
struct ResourceStatusTests {
    @Test("A route to a service no resource declares is accepted with a warning naming the field; one to a name no service can have is refused")
    func routeWithUndeclaredBackend() async throws {
        let controlPlane = try await makeControlPlane()
        let result = try await controlPlane.apply(yaml: stream(
            serviceYAML("web"), routeYAML("shop", backends: ["web", "cart"]), routeYAML("blog", backends: ["web"]), routeYAML("typo", backends: ["Cart_1"])))
        #expect(result.items.map(\.action) == [.created, .created, .created, .created])
        let shop = try await controlPlane.get(kind: "HTTPRoute", name: "shop")
        #expect(shop.status.state == .accepted)
        #expect(shop.status.errors.isEmpty)
        #expect(shop.status.warnings == [FieldError(
            resource: "HTTPRoute/shop", path: "spec.rules[0].backendRefs[1].name",
            reason: "service 'cart' is not declared: requests go to the instances registered under that name, and are answered 503 no-endpoints while there are none")])
        #expect(result.items[1].status == shop.status)
        let blog = try await controlPlane.get(kind: "HTTPRoute", name: "blog")
        #expect(blog.status == ResourceStatus(state: .accepted))
        let typo = try await controlPlane.get(kind: "HTTPRoute", name: "typo")
        #expect(typo.status.state == .refused)
        #expect(typo.status.errors == [FieldError(resource: "HTTPRoute/typo", path: "spec.rules[0].backendRefs[0].name", reason: "service 'Cart_1' is not defined")])
        #expect(try await controlPlane.get(kind: "Service", name: "web").status.state == .accepted)
    }

    @Test("A route to a registered service no resource declares is pushed with the service's instances, and with none an empty service")
    func routeToRegisteredService() async throws {
        let controlPlane = try await makeControlPlane()
        _ = try await controlPlane.apply(yaml: routeYAML("shop", host: "shop.example", backends: ["cart"]))
        // No instance yet: the route loads, its backend an empty service (503 no-endpoints).
        var config = try MeshConfig.load(yaml: proxyYAML + "\n---\n" + (await controlPlane.snapshot().yaml))
        #expect(config.routes.map(\.name) == ["shop"])
        #expect(config.services["cart"]?.endpoints == [])
        let instance = try await controlPlane.register(RegisterRequest(service: "cart", address: "10.0.0.7", port: 8080))
        config = try MeshConfig.load(yaml: proxyYAML + "\n---\n" + (await controlPlane.snapshot().yaml))
        #expect(config.routes.map(\.name) == ["shop"])
        #expect(config.services["cart"]?.endpoints.map(\.address) == [HostPort(host: "10.0.0.7", port: 8080)])
        try await controlPlane.deregister(id: instance.id)
        config = try MeshConfig.load(yaml: proxyYAML + "\n---\n" + (await controlPlane.snapshot().yaml))
        #expect(config.routes.map(\.name) == ["shop"])
        #expect(config.services["cart"]?.endpoints == [])
        #expect(try await controlPlane.get(kind: "HTTPRoute", name: "shop").status.state == .accepted)
    }

    @Test("A route's status follows the services: a tcp service refuses it, deleting that service accepts it again with a warning")
    func statusFollowsTheOthers() async throws {
        let controlPlane = try await makeControlPlane()
        _ = try await controlPlane.apply(yaml: routeYAML("shop", backends: ["cart"]))
        #expect(try await controlPlane.get(kind: "HTTPRoute", name: "shop").status.warnings.count == 1)
        _ = try await controlPlane.apply(yaml: serviceYAML("cart"))
        #expect(try await controlPlane.get(kind: "HTTPRoute", name: "shop").status == ResourceStatus(state: .accepted))
        _ = try await controlPlane.apply(yaml: serviceYAML("cart", protocol: "tcp"))
        #expect(try await controlPlane.get(kind: "HTTPRoute", name: "shop").status.state == .refused)
        _ = try await controlPlane.delete(kind: "Service", name: "cart")
        let shop = try await controlPlane.get(kind: "HTTPRoute", name: "shop")
        #expect(shop.status.state == .accepted)
        #expect(shop.status.warnings.map(\.path) == ["spec.rules[0].backendRefs[0].name"])
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
