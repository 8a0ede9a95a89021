import HeddleAPI
import HeddleControlPlane
import HeddleCore
import Testing

/// What proxies are pushed: accepted services with their registered endpoints, accepted
/// routes, as YAML a proxy loads beside its own Proxy resource.
@Suite("ControlPlane snapshot")
struct SnapshotTests {
    @Test("The snapshot loads with MeshConfig beside a Proxy and carries the healthy registered endpoints with weight and labels")
    func loadsWithRegisteredEndpoints() async throws {
        let controlPlane = try await makeControlPlane()
        _ = try await controlPlane.apply(yaml: stream(
            serviceYAML("web", endpoints: ["10.0.0.1:8080"]),
            serviceYAML("api", endpoints: [], protocol: "http2"),
            routeYAML("shop", backends: ["api"]),
            routeYAML("edge-only", backends: ["api"], parentRefs: ["edge"]),
            routeYAML("broken", backends: ["nowhere"])))
        let healthy = try await controlPlane.register(RegisterRequest(service: "api", address: "10.0.1.1", port: 4143, labels: ["zone": "true", "version": "v2"], weight: 5))
        let sick = try await controlPlane.register(RegisterRequest(service: "api", address: "10.0.1.2", port: 4143))
        _ = try await controlPlane.reportHealth(id: sick.id, healthy: false)
        _ = try await controlPlane.register(RegisterRequest(service: "web", address: "::1", port: 9000))
        _ = try await controlPlane.register(RegisterRequest(service: "web", address: "10.0.0.1", port: 8080, weight: 7))

        let push = await controlPlane.snapshot(for: "web")
        #expect(push.version == 10)
        #expect(healthy.revision == 6)
        let config = try MeshConfig.load(yaml: proxyYAML + "\n---\n" + push.yaml)
        #expect(config.services.keys.sorted() == ["api", "web"])
        let api = try #require(config.services["api"])
        #expect(api.protocol == .http2)
        #expect(api.endpoints == [EndpointSpec(address: HostPort(host: "10.0.1.1", port: 4143), weight: 5, labels: ["version": "v2", "zone": "true"])])
        // The document's own endpoint stays as written; an instance at the same address adds nothing.
        let web = try #require(config.services["web"])
        #expect(web.endpoints.map(\.address.description) == ["10.0.0.1:8080", "[::1]:9000"])
        #expect(web.endpoints.map(\.weight) == [1, 1])
        #expect(config.routes.map(\.name) == ["shop"], "a refused route, and one only for a gateway's listener, are not pushed to sidecars")
    }

    @Test("The same state always gives the same text, and a changed one a new version")
    func deterministic() async throws {
        let controlPlane = try await makeControlPlane()
        _ = try await controlPlane.apply(yaml: stream(serviceYAML("web", endpoints: []), "# a comment\n" + routeYAML("shop", backends: ["web"])))
        for port in [8001, 8002, 8003] {
            _ = try await controlPlane.register(RegisterRequest(service: "web", address: "10.0.0.9", port: port, labels: ["b": "2", "a": "1"]))
        }
        let first = await controlPlane.snapshot(for: nil)
        #expect(first == (await controlPlane.snapshot(for: nil)))
        #expect(!first.yaml.contains("a comment"))
        _ = try await controlPlane.apply(yaml: serviceYAML("web", endpoints: ["10.0.0.1:80"]))
        let second = await controlPlane.snapshot(for: nil)
        #expect(second.version > first.version)
        #expect(second.yaml != first.yaml)
    }

    @Test("An empty control plane pushes an empty snapshot that still loads")
    func empty() async throws {
        let controlPlane = try await makeControlPlane()
        let push = await controlPlane.snapshot(for: nil)
        #expect(push == ConfigPush(version: 0, resources: []))
        _ = try MeshConfig.load(yaml: proxyYAML + "\n---\n" + push.yaml)
    }
}
