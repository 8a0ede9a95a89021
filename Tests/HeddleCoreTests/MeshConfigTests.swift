import Foundation
import HeddleCore
import Testing

/// Loading a whole, valid configuration: what ends up in `MeshConfig`.
@Suite("MeshConfig")
struct MeshConfigTests {
    @Test("Services are keyed by name, routes keep their order, the Proxy's settings are used")
    func assembles() throws {
        let config = try MeshConfig.load(yaml: documents(
            routeYAML("second", spec: "  rules:\n    - backendRefs:\n        - name: api"),
            serviceYAML("web"),
            """
            apiVersion: heddle.dev/v1alpha1
            kind: Proxy
            metadata:
              name: p
            spec:
              outbound:
                address: 127.0.0.1:5000
              gateways:
                - name: edge
                  address: 0.0.0.0:8080
            """,
            serviceYAML("api", address: "10.0.0.2:80"),
            routeYAML("first", spec: "  parentRefs:\n    - name: edge\n  rules:\n    - backendRefs:\n        - name: web")))
        #expect(config.services.keys.sorted() == ["api", "web"])
        #expect(config.services["api"]?.endpoints.map(\.address) == [HostPort(host: "10.0.0.2", port: 80)])
        #expect(config.routes.map(\.name) == ["second", "first"])
        #expect(config.routes[1].spec.parentRefs == ["edge"])
        #expect(config.proxy.outbound.address == HostPort(host: "127.0.0.1", port: 5000))
        #expect(config.proxy.routingListeners.map(\.name) == ["outbound", "edge"])
    }

    @Test("Without a Proxy resource the proxy gets its defaults")
    func defaultProxy() throws {
        let config = try MeshConfig.load(yaml: serviceYAML("web"))
        #expect(config.proxy == ProxySpec())
        #expect(config.routes.isEmpty)
    }

    @Test("build(from:) applies the same cross-resource checks to resources made in code")
    func buildFromResources() throws {
        let route = HTTPRouteSpec(rules: [HTTPRouteRule(backendRefs: [BackendRef(name: "web")])])
        let service = ServiceSpec(endpoints: [EndpointSpec(address: HostPort(host: "10.0.0.1", port: 80))])
        let config = try MeshConfig.build(from: [
            .service(ResourceMetadata(name: "web"), service),
            .httpRoute(ResourceMetadata(name: "web"), route),
        ])
        #expect(config.services == ["web": service])
        #expect(config.routes.map(\.spec) == [route])

        let errors = configErrors { () throws(ConfigErrors) in
            _ = try MeshConfig.build(from: [.httpRoute(ResourceMetadata(name: "web"), route)])
        }
        #expect(errors == [ConfigError(resource: "HTTPRoute/web", path: "spec.rules[0].backendRefs[0].name", reason: "service 'web' is not defined")])
    }

    @Test("The example configuration loads")
    func exampleLoads() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let yaml = try String(contentsOf: root.appendingPathComponent("examples/basic.yaml"), encoding: .utf8)
        let config = try MeshConfig.load(yaml: yaml)
        #expect(config.services.keys.sorted() == ["web"])
        #expect(config.proxy.outbound.address == HostPort(host: "127.0.0.1", port: 4140))
        #expect(config.proxy.admin == HostPort(host: "127.0.0.1", port: 4191))
    }

    @Test("The configuration encodes with durations and addresses as configuration text")
    func encodes() throws {
        let config = try MeshConfig.load(yaml: documents(
            """
            apiVersion: heddle.dev/v1alpha1
            kind: Proxy
            metadata:
              name: p
            spec:
              admin:
                address: "[::1]:9901"
              http:
                connectTimeout: 250ms
            """,
            serviceYAML("web")))
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(config)) as? [String: Any]
        let proxy = try #require(json?["proxy"] as? [String: Any])
        #expect(proxy["admin"] as? String == "[::1]:9901")
        let http = try #require(proxy["http"] as? [String: Any])
        #expect(http["connectTimeout"] as? String == "250ms")
        #expect(http["requestTimeout"] as? String == "15s")
        #expect(http["maxHeadBytes"] as? Int == 32 * 1024)

        let decoded = try JSONDecoder().decode(HTTPSettings.self, from: JSONEncoder().encode(config.proxy.http))
        #expect(decoded == config.proxy.http)
    }
}
