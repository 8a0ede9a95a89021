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
            routeYAML("broken", backends: ["No_where"])))
        let healthy = try await controlPlane.register(RegisterRequest(service: "api", address: "10.0.1.1", port: 4143, labels: ["zone": "true", "version": "v2"], weight: 5))
        let sick = try await controlPlane.register(RegisterRequest(service: "api", address: "10.0.1.2", port: 4143))
        _ = try await controlPlane.reportHealth(id: sick.id, healthy: false)
        _ = try await controlPlane.register(RegisterRequest(service: "web", address: "::1", port: 9000))
        _ = try await controlPlane.register(RegisterRequest(service: "web", address: "10.0.0.1", port: 8080, weight: 7))

        let push = await controlPlane.snapshot()
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

    @Test("An instance reached over mutual TLS is pushed with the identity its proxy must prove; a plaintext one, and one of a tcp service, without")
    func mutualTLSInstancesCarryTheirIdentity() async throws {
        let controlPlane = try await makeControlPlane()
        _ = try await controlPlane.apply(yaml: stream(serviceYAML("db", endpoints: [], protocol: "tcp")))
        _ = try await controlPlane.register(RegisterRequest(service: "api", address: "10.0.1.1", port: 4143, mutualTLS: true))
        _ = try await controlPlane.register(RegisterRequest(service: "api", address: "10.0.1.2", port: 4143))
        _ = try await controlPlane.register(RegisterRequest(service: "db", address: "10.0.2.1", port: 5432, protocol: "tcp", mutualTLS: true))
        let push = await controlPlane.snapshot()
        let config = try MeshConfig.load(yaml: proxyYAML + "\n---\n" + push.yaml)
        let api = try #require(config.services["api"])
        #expect(Set(api.endpoints.map { "\($0.address) \($0.identity ?? "-")" }) == ["10.0.1.1:4143 spiffe://heddle.local/service/api", "10.0.1.2:4143 -"])
        #expect(config.services["db"]?.endpoints.map(\.identity) == [nil])
        let listed = await controlPlane.instances(service: "api").items
        #expect(Set(listed.map { "\($0.address) \($0.mutualTLS)" }) == ["10.0.1.1 true", "10.0.1.2 false"])
    }

    @Test("A proxy that declares what its app calls is pushed only that: the services, the routes that may serve them, and what those routes send to")
    func scopedToWhatTheAppCalls() async throws {
        let controlPlane = try await makeControlPlane()
        _ = try await controlPlane.apply(yaml: stream(
            serviceYAML("users-v1"), serviceYAML("users-v2"), serviceYAML("users-standby"), serviceYAML("audit"),
            serviceYAML("api"), serviceYAML("billing"), serviceYAML("shadow"),
            """
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: users}
            spec:
              hostnames: [users]
              rules:
                - filters:
                    - type: RequestMirror
                      requestMirror: {backendRef: {name: shadow}, percent: 5}
                  backendRefs:
                    - {name: users-v1, weight: 90, failover: users-standby}
                    - {name: users-v2, weight: 10}
            """,
            routeYAML("wild", host: "'*.internal'", backends: ["audit"]),
            routeYAML("pay", host: "billing", backends: ["billing"])))
        let keys = await controlPlane.snapshot(calls: ["users", "api"]).resources.map(\.key)
        #expect(keys == ["Service/api", "Service/shadow", "Service/users-standby", "Service/users-v1", "Service/users-v2", "HTTPRoute/users"])
        // A wildcard hostname serves the hosts it covers.
        #expect(await controlPlane.snapshot(calls: ["logs.internal"]).resources.map(\.key) == ["Service/audit", "HTTPRoute/wild"])
        // Nothing declared: the whole mesh. A pushed scope loads as a proxy's configuration.
        #expect(await controlPlane.snapshot().resources.count == 10)
        _ = try MeshConfig.load(yaml: proxyYAML + "\n---\n" + (await controlPlane.snapshot(calls: ["users"])).yaml)

        // A watch with a scope is pushed a change of what it needs, and nothing else.
        let watch = try await controlPlane.watch(proxyID: "api-1", service: "api", calls: ["users"])
        var iterator = watch.makeAsyncIterator()
        #expect(await iterator.next()?.resources.map(\.key).contains("Service/billing") == false)
        try await whileRunning(controlPlane) {
            _ = try await controlPlane.apply(yaml: serviceYAML("billing", endpoints: ["10.9.9.9:80"]))
            try await Task.sleep(for: .milliseconds(200))
            let changed = try await controlPlane.apply(yaml: serviceYAML("users-v2", endpoints: ["10.0.0.7:80"]))
            let next = await iterator.next()
            #expect(next?.resources.first { $0.key == "Service/users-v2" }?.document.contains("10.0.0.7:80") == true)
            #expect(next?.version == changed.items.first?.revision, "the billing change alone was not pushed to this scope")
        }
        watch.cancel()
        let refused = await controlPlaneError { _ = try await controlPlane.watch(proxyID: "p", service: nil, calls: ["Bad_Name"]) }
        #expect(refused?.code == .invalid)
    }

    @Test("The same state always gives the same text, and a changed one a new version")
    func deterministic() async throws {
        let controlPlane = try await makeControlPlane()
        _ = try await controlPlane.apply(yaml: stream(serviceYAML("web", endpoints: []), "# a comment\n" + routeYAML("shop", backends: ["web"])))
        for port in [8001, 8002, 8003] {
            _ = try await controlPlane.register(RegisterRequest(service: "web", address: "10.0.0.9", port: port, labels: ["b": "2", "a": "1"]))
        }
        let first = await controlPlane.snapshot()
        #expect(first == (await controlPlane.snapshot()))
        #expect(!first.yaml.contains("a comment"))
        _ = try await controlPlane.apply(yaml: serviceYAML("web", endpoints: ["10.0.0.1:80"]))
        let second = await controlPlane.snapshot()
        #expect(second.version > first.version)
        #expect(second.yaml != first.yaml)
    }

    @Test("An empty control plane pushes an empty snapshot that still loads")
    func empty() async throws {
        let controlPlane = try await makeControlPlane()
        let push = await controlPlane.snapshot()
        #expect(push == ConfigPush(version: 0, resources: []))
        _ = try MeshConfig.load(yaml: proxyYAML + "\n---\n" + push.yaml)
    }
}
