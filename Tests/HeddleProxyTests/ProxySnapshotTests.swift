import HeddleCore
import HeddlePolicy
import NIOCore
import Testing

@testable import HeddleProxy

/// `ProxySnapshot`, `ResolvedService` and `ResolvedEndpoint`: a config compiled for the data
/// path.
@Suite("ProxySnapshot")
struct ProxySnapshotTests {
    static let proxyWithInbound = """
        apiVersion: heddle.dev/v1alpha1
        kind: Proxy
        metadata:
          name: sidecar
        spec:
          inbound:
            address: 0.0.0.0:4143
            appAddress: 127.0.0.1:8080
          gateways:
            - name: edge
              address: 0.0.0.0:8081
        """

    static let services = [
        serviceYAML("web", addresses: ["10.0.0.1:8080", "10.0.0.2:8080"]),
        serviceYAML("api", addresses: ["api.internal:80"], extra: "  loadBalancer:\n    policy: round-robin"),
    ]

    func endpoint(_ ip: String, _ port: Int, weight: Int = 1) throws -> ResolvedEndpoint {
        ResolvedEndpoint(address: try SocketAddress(ipAddress: ip, port: port), weight: weight, configured: HostPort(host: ip, port: port))
    }

    @Test("With an inbound listener the local app is the last service, after the sorted user services")
    func inboundAppIsLast() throws {
        let config = try loadConfig(documents(Self.proxyWithInbound, Self.services[0], Self.services[1]))
        let app = try endpoint("127.0.0.1", 8080)
        let snapshot = ProxySnapshot(generation: 3, config: config, resolved: Resolution(endpoints: [ProxySnapshot.inboundAppName: [app]]))
        #expect(snapshot.generation == 3)
        #expect(snapshot.services.map(\.name) == ["api", "web", "@app"])
        #expect(snapshot.serviceIndex == ["api": 0, "web": 1, "@app": 2])
        let last = try #require(snapshot.services.last)
        #expect(last.spec.endpoints.map(\.address) == [HostPort(host: "127.0.0.1", port: 8080)])
        #expect(last.endpoints == [app])
        #expect(last.unresolved.isEmpty)
    }

    @Test("The inbound route table sends every request to the app")
    func inboundTableSendsEverythingToApp() throws {
        let config = try loadConfig(documents(Self.proxyWithInbound, Self.services[0], Self.services[1]))
        let snapshot = ProxySnapshot(generation: 1, config: config, resolved: Resolution())
        #expect(Set(snapshot.routeTables.keys) == ["outbound", "edge", "inbound"])
        let inbound = try #require(snapshot.routeTables["inbound"])
        #expect(inbound.serviceNames == ["api", "web", "@app"])
        let appIndex = try #require(snapshot.serviceIndex["@app"])
        for request in [TestRouteRequest("web"), TestRouteRequest("", "/any/path", method: "POST"), TestRouteRequest("api", "/x")] {
            let match = try #require(inbound.match(request))
            #expect(match.rule.backends == [appIndex])
            #expect(match.rule.label == "inbound#0")
            #expect(match.rule.requestHeaders == nil && match.rule.responseHeaders == nil && match.rule.rewrite == nil)
        }
    }

    @Test("Routing listeners cannot reach the app by its reserved name")
    func appIsNotRoutableFromOutbound() throws {
        let config = try loadConfig(documents(Self.proxyWithInbound, Self.services[0], Self.services[1]))
        let snapshot = ProxySnapshot(generation: 1, config: config, resolved: Resolution())
        let outbound = try #require(snapshot.routeTables["outbound"])
        #expect(outbound.match(TestRouteRequest("@app")) == nil)
        #expect(outbound.serviceNames == ["api", "web"])
        // Implicit routes index the same service list as the snapshot.
        let web = try #require(outbound.match(TestRouteRequest("web")))
        #expect(web.rule.backends.map { snapshot.services[$0].name } == ["web"])
    }

    @Test("Without an inbound listener there is no app service and no inbound table")
    func noInbound() throws {
        let config = try loadConfig(documents(Self.services[0], Self.services[1]))
        let snapshot = ProxySnapshot(generation: 1, config: config, resolved: Resolution())
        #expect(snapshot.services.map(\.name) == ["api", "web"])
        #expect(snapshot.serviceIndex["@app"] == nil)
        #expect(Set(snapshot.routeTables.keys) == ["outbound"])
    }

    @Test("Resolved endpoints and failures go to their services")
    func resolutionIsAttached() throws {
        let config = try loadConfig(documents(Self.services[0], Self.services[1]))
        let web = [try endpoint("10.0.0.1", 8080, weight: 3), try endpoint("10.0.0.2", 8080, weight: -1)]
        let resolved = Resolution(endpoints: ["web": web, "api": []], failures: ["api": ["cannot resolve 'api.internal': nope"]])
        let snapshot = ProxySnapshot(generation: 1, config: config, resolved: resolved)
        let webService = snapshot.services[try #require(snapshot.serviceIndex["web"])]
        let apiService = snapshot.services[try #require(snapshot.serviceIndex["api"])]
        #expect(webService.endpoints == web)
        #expect(webService.unresolved.isEmpty)
        #expect(webService.balancerEndpoints == [
            BalancerEndpoint(key: "10.0.0.1:8080", weight: 3), BalancerEndpoint(key: "10.0.0.2:8080", weight: 0),
        ])
        #expect(apiService.endpoints.isEmpty)
        #expect(apiService.unresolved == ["cannot resolve 'api.internal': nope"])
    }

    @Test("Each service's balancer algorithm follows its policy")
    func algorithms() throws {
        let config = try loadConfig(documents(Self.services[0], Self.services[1]))
        let snapshot = ProxySnapshot(generation: 1, config: config, resolved: Resolution())
        #expect(snapshot.services.map(\.algorithm) == [.roundRobin, .default])
    }

    // MARK: - targets(of:)

    @Test("targets(of:) lists every service's endpoints and the inbound app")
    func targetsWithInbound() throws {
        let config = try loadConfig(documents(Self.proxyWithInbound, Self.services[0], Self.services[1]))
        let targets = ProxySnapshot.targets(of: config)
        #expect(Set(targets.keys) == ["web", "api", "@app"])
        #expect(targets["web"]?.map(\.address.description) == ["10.0.0.1:8080", "10.0.0.2:8080"])
        #expect(targets["api"]?.map(\.address.description) == ["api.internal:80"])
        #expect(targets["@app"] == [EndpointSpec(address: HostPort(host: "127.0.0.1", port: 8080))])
    }

    @Test("targets(of:) without an inbound listener has no app")
    func targetsWithoutInbound() throws {
        let config = try loadConfig(documents(Self.services[0]))
        #expect(ProxySnapshot.targets(of: config) == ["web": config.services["web"]!.endpoints])
    }

    // MARK: - ResolvedEndpoint.key

    @Test("An endpoint's key is ip:port for IPv4 and [ip]:port for IPv6", arguments: [
        ("10.1.2.3", 8080, "10.1.2.3:8080"),
        ("127.0.0.1", 1, "127.0.0.1:1"),
        ("::1", 8080, "[::1]:8080"),
        ("2001:db8::42", 443, "[2001:db8::42]:443"),
    ])
    func endpointKey(ip: String, port: Int, key: String) throws {
        let resolved = try endpoint(ip, port, weight: 2)
        #expect(resolved.key == key)
        #expect(resolved.weight == 2)
        #expect(resolved.configured == HostPort(host: ip, port: port))
    }

    @Test("The key of a named endpoint is its address, not the configured name")
    func keyUsesAddress() throws {
        let address = try SocketAddress(ipAddress: "10.0.0.9", port: 80)
        let resolved = ResolvedEndpoint(address: address, weight: 1, configured: HostPort(host: "api.internal", port: 80))
        #expect(resolved.key == "10.0.0.9:80")
        #expect(resolved.configured.host == "api.internal")
    }
}
