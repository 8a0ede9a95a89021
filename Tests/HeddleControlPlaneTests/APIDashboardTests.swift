import HeddleAPI
import HeddleControlPlane
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// What the dashboard reads besides `/v1/top`: the page itself, `/v1/routes`, and a service's
/// endpoints.
@Suite("API dashboard")
struct APIDashboardTests {
    @Test("GET / is the dashboard page, self-contained under a strict content security policy")
    func page() async throws {
        let controlPlane = try await makeControlPlane()
        try await withAPI(controlPlane) { client in
            try await client.execute(uri: "/", method: .get) { response async throws in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                let policy = try #require(response.headers[.contentSecurityPolicy])
                #expect(policy.contains("default-src 'none'") && policy.contains("connect-src 'self'"))
                let page = String(buffer: response.body)
                #expect(page.hasPrefix("<!doctype html>"))
                for reads in ["/v1/top?window=10", "/v1/routes", "/v1/resources", "/v1/proxies", "/v1/ca", "/endpoints"] {
                    #expect(page.contains(reads), "the page reads \(reads)")
                }
                #expect(!page.contains("<script src") && !page.contains("<link "), "nothing is loaded from elsewhere")
            }
            try await client.execute(uri: "/", method: .head) { response async throws in
                #expect(response.status == .ok)
                #expect(response.body.readableBytes == 0)
            }
        }
    }

    @Test("GET /v1/routes: each rule's matches, filters and weighted backends, labelled as the metrics are")
    func routes() async throws {
        let controlPlane = try await makeControlPlane()
        let canary = """
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: users}
            spec:
              hostnames: [users]
              rules:
                - matches:
                    - path: {type: PathPrefix, value: /beta}
                      headers: [{name: x-canary, value: "1"}]
                  filters:
                    - type: RequestMirror
                      requestMirror: {backendRef: {name: users-v2}, percent: 10}
                  backendRefs: [{name: users-v1}]
                - backendRefs:
                    - {name: users-v1, weight: 90, failover: users-v2}
                    - {name: users-v2, weight: 10}
            """
        try await withAPI(controlPlane) { client in
            for document in [serviceYAML("users-v1"), serviceYAML("users-v2"), canary] {
                try await client.execute(uri: "/v1/apply", method: .post, headers: yamlHeaders, body: ByteBuffer(string: document)) { response async throws in
                    #expect(response.status == .ok, "\(String(buffer: response.body))")
                }
            }
            try await client.execute(uri: "/v1/routes", method: .get) { response async throws in
                let routes = try decode([RouteSummary].self, response)
                #expect(routes.count == 1)
                let route = try #require(routes.first)
                #expect(route.name == "users" && route.state == "accepted" && route.hostnames == ["users"])
                #expect(route.rules.map(\.label) == ["users#0", "users#1"])
                #expect(route.rules[0].matches == ["PathPrefix /beta, header x-canary=1"])
                #expect(route.rules[0].filters == ["requestMirror users-v2 10.0 %"])
                #expect(route.rules[1].matches == [])
                #expect(route.rules[1].backends == [
                    RouteSummary.Backend(service: "users-v1", weight: 90, failover: "users-v2"),
                    RouteSummary.Backend(service: "users-v2", weight: 10, failover: nil),
                ])
            }
        }
    }

    @Test("GET /v1/services/{name}/endpoints: the registry's instances; an unknown service is 404")
    func endpoints() async throws {
        let controlPlane = try await makeControlPlane()
        try await withAPI(controlPlane) { client in
            try await client.execute(uri: "/v1/apply", method: .post, headers: yamlHeaders, body: ByteBuffer(string: serviceYAML("quiet", endpoints: []))) { response async throws in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/v1/services/quiet/endpoints", method: .get) { response async throws in
                let endpoints = try decode(ServiceEndpoints.self, response)
                #expect(endpoints.service == "quiet")
                #expect(endpoints.instances.isEmpty && endpoints.callers.isEmpty && endpoints.callersUnreachable.isEmpty)
            }
            try await client.execute(uri: "/v1/services/nope/endpoints", method: .get) { response async throws in
                let error = try apiError(response, .notFound)
                #expect(error.message == "no service 'nope' is declared or registered")
            }
        }
    }
}
