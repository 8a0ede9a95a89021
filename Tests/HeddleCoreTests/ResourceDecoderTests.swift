import HeddleCore
import Testing

@Suite("ResourceDecoder")
struct ResourceDecoderTests {
    // MARK: Proxy

    @Test("A Proxy with every field decodes to exactly those settings")
    func proxyAllFields() throws {
        let yaml = """
            apiVersion: heddle.dev/v1alpha1
            kind: Proxy
            metadata:
              name: sidecar
              namespace: default
              labels:
                team: payments
                tier: edge
              annotations:
                note: ignored
            spec:
              outbound:
                address: 127.0.0.1:5140
                protocol: http1
                tcpService: db
              inbound:
                address: 0.0.0.0:5143
                appAddress: 127.0.0.1:8080
                protocol: tcp
              admin:
                address: "[::1]:5191"
              gateways:
                - name: edge
                  address: 0.0.0.0:8443
                - name: egress
                  address: 0.0.0.0:9000
                  protocol: tcp
                  tcpService: db
              accessLog:
                mode: sampled
                sampleRate: 0.25
              http:
                maxHeadBytes: 65536
                maxHeaderCount: 50
                headerReadTimeout: 5s
                idleTimeout: 2m
                requestTimeout: 1.5s
                connectTimeout: 250ms
                upstreamIdleTimeout: 45s
                maxIdlePerEndpoint: 8
                detectionTimeout: 500ms
                drainGracePeriod: 1h
            """
        let resources = try ResourceDecoder.decode(yaml: yaml)
        try #require(resources.count == 1)
        guard case .proxy(let metadata, let spec) = resources[0] else {
            Issue.record("expected a Proxy, got \(resources[0])")
            return
        }
        #expect(metadata == ResourceMetadata(name: "sidecar", labels: ["team": "payments", "tier": "edge"]))
        #expect(resources[0].kind == .proxy)
        #expect(resources[0].reference == "Proxy/sidecar")

        var http = HTTPSettings()
        http.maxHeadBytes = 65536
        http.maxHeaderCount = 50
        http.headerReadTimeout = .seconds(5)
        http.idleTimeout = .seconds(120)
        http.requestTimeout = .milliseconds(1500)
        http.connectTimeout = .milliseconds(250)
        http.upstreamIdleTimeout = .seconds(45)
        http.maxIdlePerEndpoint = 8
        http.detectionTimeout = .milliseconds(500)
        http.drainGracePeriod = .seconds(3600)
        let expected = ProxySpec(
            outbound: ListenerSpec(name: "outbound", address: HostPort(host: "127.0.0.1", port: 5140), protocol: .http1, tcpService: "db"),
            inbound: InboundListenerSpec(address: HostPort(host: "0.0.0.0", port: 5143), appAddress: HostPort(host: "127.0.0.1", port: 8080), protocol: .tcp),
            admin: HostPort(host: "::1", port: 5191),
            gateways: [
                ListenerSpec(name: "edge", address: HostPort(host: "0.0.0.0", port: 8443)),
                ListenerSpec(name: "egress", address: HostPort(host: "0.0.0.0", port: 9000), protocol: .tcp, tcpService: "db"),
            ],
            accessLog: AccessLogSpec(mode: .sampled, sampleRate: 0.25),
            http: http)
        #expect(spec == expected)
        #expect(spec.routingListeners.map(\.name) == ["outbound", "edge", "egress"])
    }

    @Test("A Proxy without spec gets every default")
    func proxyDefaults() throws {
        let resources = try ResourceDecoder.decode(yaml: """
            apiVersion: heddle.dev/v1alpha1
            kind: Proxy
            metadata:
              name: sidecar
            """)
        try #require(resources.count == 1)
        guard case .proxy(_, let spec) = resources[0] else {
            Issue.record("expected a Proxy")
            return
        }
        #expect(spec == ProxySpec())
        #expect(spec.outbound == ListenerSpec(name: "outbound", address: HostPort(host: "127.0.0.1", port: 4140), protocol: .auto))
        #expect(spec.inbound == nil)
        #expect(spec.admin == HostPort(host: "127.0.0.1", port: 4191))
        #expect(spec.gateways.isEmpty)
        #expect(spec.accessLog == AccessLogSpec(mode: .off, sampleRate: 0.01))
        #expect(spec.http.maxHeadBytes == 32 * 1024)
        #expect(spec.http.maxHeaderCount == 100)
        #expect(spec.http.headerReadTimeout == .seconds(10))
        #expect(spec.http.idleTimeout == .seconds(60))
        #expect(spec.http.requestTimeout == .seconds(15))
        #expect(spec.http.connectTimeout == .seconds(2))
        #expect(spec.http.upstreamIdleTimeout == .seconds(30))
        #expect(spec.http.maxIdlePerEndpoint == 64)
        #expect(spec.http.detectionTimeout == .seconds(1))
        #expect(spec.http.drainGracePeriod == .seconds(30))
    }

    @Test("Inbound defaults its address and protocol; a partial outbound keeps the default address")
    func proxyPartialDefaults() throws {
        let resources = try ResourceDecoder.decode(yaml: """
            apiVersion: heddle.dev/v1alpha1
            kind: Proxy
            metadata:
              name: sidecar
            spec:
              outbound:
                protocol: http1
              inbound:
                appAddress: 127.0.0.1:3000
              http:
                requestTimeout: 3s
            """)
        guard case .proxy(_, let spec) = try #require(resources.first) else {
            Issue.record("expected a Proxy")
            return
        }
        #expect(spec.outbound == ListenerSpec(name: "outbound", address: HostPort(host: "127.0.0.1", port: 4140), protocol: .http1))
        #expect(spec.inbound == InboundListenerSpec(address: HostPort(host: "0.0.0.0", port: 4143), appAddress: HostPort(host: "127.0.0.1", port: 3000), protocol: .auto))
        var http = HTTPSettings()
        http.requestTimeout = .seconds(3)
        #expect(spec.http == http)
    }

    // MARK: Service

    @Test("A Service with every field decodes to exactly those settings")
    func serviceAllFields() throws {
        let resources = try ResourceDecoder.decode(yaml: """
            apiVersion: heddle.dev/v1alpha1
            kind: Service
            metadata:
              name: payments
              labels:
                app: payments
            spec:
              protocol: http1
              dnsRefreshSeconds: 120
              loadBalancer:
                policy: ring-hash
                hashKey:
                  header: X-User-ID
              endpoints:
                - address: 10.0.0.1:8080
                  weight: 3
                  labels:
                    zone: a
                - address: "[fd00::2]:8080"
                  weight: 0
                - address: payments.internal:80
            """)
        try #require(resources.count == 1)
        guard case .service(let metadata, let spec) = resources[0] else {
            Issue.record("expected a Service, got \(resources[0])")
            return
        }
        #expect(metadata == ResourceMetadata(name: "payments", labels: ["app": "payments"]))
        #expect(resources[0].reference == "Service/payments")
        let expected = ServiceSpec(
            protocol: .http1,
            endpoints: [
                EndpointSpec(address: HostPort(host: "10.0.0.1", port: 8080), weight: 3, labels: ["zone": "a"]),
                EndpointSpec(address: HostPort(host: "fd00::2", port: 8080), weight: 0),
                EndpointSpec(address: HostPort(host: "payments.internal", port: 80)),
            ],
            // Header names are case-insensitive, so the key is stored lowercased.
            loadBalancer: LoadBalancerSpec(policy: .ringHash, hashKey: .header("x-user-id")),
            dnsRefreshSeconds: 120)
        #expect(spec == expected)
    }

    @Test("A Service gets protocol http1, weight 1, p2c-peak-ewma and a 30 s DNS refresh by default")
    func serviceDefaults() throws {
        let resources = try ResourceDecoder.decode(yaml: """
            apiVersion: heddle.dev/v1alpha1
            kind: Service
            metadata:
              name: web
            spec:
              endpoints:
                - address: 127.0.0.1:18080
            """)
        guard case .service(let metadata, let spec) = try #require(resources.first) else {
            Issue.record("expected a Service")
            return
        }
        #expect(metadata.labels.isEmpty)
        #expect(spec == ServiceSpec(endpoints: [EndpointSpec(address: HostPort(host: "127.0.0.1", port: 18080))]))
        #expect(spec.protocol == .http1)
        #expect(spec.endpoints[0].weight == 1)
        #expect(spec.endpoints[0].labels.isEmpty)
        #expect(spec.loadBalancer == LoadBalancerSpec(policy: .peakEWMA, hashKey: nil))
        #expect(spec.dnsRefreshSeconds == 30)
    }

    @Test("Every load balancer policy is read by its configuration name", arguments: [
        ("p2c-peak-ewma", LoadBalancerPolicy.peakEWMA),
        ("round-robin", .roundRobin),
        ("least-request", .leastRequest),
    ])
    func servicePolicies(name: String, policy: LoadBalancerPolicy) throws {
        let resources = try ResourceDecoder.decode(yaml: """
            apiVersion: heddle.dev/v1alpha1
            kind: Service
            metadata:
              name: web
            spec:
              loadBalancer:
                policy: \(name)
              endpoints:
                - address: 10.0.0.1:80
            """)
        guard case .service(_, let spec) = try #require(resources.first) else {
            Issue.record("expected a Service")
            return
        }
        #expect(spec.loadBalancer == LoadBalancerSpec(policy: policy))
    }

    @Test("A ring-hash key can be a cookie, whose name keeps its case")
    func serviceCookieHashKey() throws {
        let resources = try ResourceDecoder.decode(yaml: """
            apiVersion: heddle.dev/v1alpha1
            kind: Service
            metadata:
              name: cart
            spec:
              protocol: http1
              loadBalancer:
                policy: ring-hash
                hashKey:
                  cookie: SessionID
              endpoints:
                - address: 10.0.0.1:80
            """)
        guard case .service(_, let spec) = try #require(resources.first) else {
            Issue.record("expected a Service")
            return
        }
        #expect(spec.loadBalancer == LoadBalancerSpec(policy: .ringHash, hashKey: .cookie("SessionID")))
    }

    @Test("A tcp Service decodes with protocol tcp")
    func tcpService() throws {
        let resources = try ResourceDecoder.decode(yaml: serviceYAML("db", address: "10.0.0.9:5432", protocol: "tcp"))
        guard case .service(_, let spec) = try #require(resources.first) else {
            Issue.record("expected a Service")
            return
        }
        #expect(spec.protocol == .tcp)
        #expect(spec.endpoints == [EndpointSpec(address: HostPort(host: "10.0.0.9", port: 5432))])
    }

    // MARK: HTTPRoute

    @Test("An HTTPRoute with every field decodes to exactly those settings")
    func routeAllFields() throws {
        let resources = try ResourceDecoder.decode(yaml: """
            apiVersion: heddle.dev/v1alpha1
            kind: HTTPRoute
            metadata:
              name: api
            spec:
              parentRefs:
                - name: outbound
                - name: edge
                  kind: Gateway
                  group: gateway.networking.k8s.io
                  sectionName: https
              hostnames:
                - API.Example.com
                - "*.example.com"
              rules:
                - name: users
                  matches:
                    - path:
                        type: Exact
                        value: /users/me
                      method: GET
                      headers:
                        - name: X-Canary
                          value: "true"
                        - name: x-version
                          type: RegularExpression
                          value: "v[0-9]+"
                      queryParams:
                        - name: Debug
                          value: "1"
                        - name: trace
                          type: RegularExpression
                          value: "[a-f0-9]{8}"
                    - path:
                        type: PathPrefix
                        value: /users
                    - path:
                        type: RegularExpression
                        value: "/u/[0-9]+"
                  filters:
                    - type: RequestHeaderModifier
                      requestHeaderModifier:
                        set:
                          - name: X-Route
                            value: users
                        add:
                          - name: X-Trace
                            value: "on"
                        remove:
                          - X-Internal
                    - type: ResponseHeaderModifier
                      responseHeaderModifier:
                        set:
                          - name: Cache-Control
                            value: no-store
                    - type: URLRewrite
                      urlRewrite:
                        hostname: users.internal
                  backendRefs:
                    - name: users-v1
                      weight: 90
                      port: 8080
                    - name: users-v2
                      weight: 10
                      kind: Service
                      group: ""
                - backendRefs:
                    - name: fallback
                  filters:
                    - type: URLRewrite
                      urlRewrite:
                        path:
                          type: ReplaceFullPath
                          replaceFullPath: /index.html
                - matches:
                    - path:
                        value: /api
                  filters:
                    - type: URLRewrite
                      urlRewrite:
                        path:
                          type: ReplacePrefixMatch
                          replacePrefixMatch: /v2
                  backendRefs:
                    - name: api
            """)
        try #require(resources.count == 1)
        guard case .httpRoute(let metadata, let spec) = resources[0] else {
            Issue.record("expected an HTTPRoute, got \(resources[0])")
            return
        }
        #expect(metadata == ResourceMetadata(name: "api"))
        #expect(resources[0].reference == "HTTPRoute/api")
        #expect(spec.parentRefs == ["outbound", "edge"])
        #expect(spec.hostnames == ["api.example.com", "*.example.com"])
        try #require(spec.rules.count == 3)

        let first = spec.rules[0]
        #expect(first.name == "users")
        #expect(first.matches == [
            HTTPRouteMatch(
                path: PathMatch(kind: .exact, value: "/users/me"),
                method: "GET",
                headers: [
                    ValueMatch(name: "x-canary", value: "true"),
                    ValueMatch(name: "x-version", value: "v[0-9]+", kind: .regularExpression),
                ],
                queryParams: [
                    ValueMatch(name: "Debug", value: "1"),
                    ValueMatch(name: "trace", value: "[a-f0-9]{8}", kind: .regularExpression),
                ]),
            HTTPRouteMatch(path: PathMatch(kind: .prefix, value: "/users")),
            HTTPRouteMatch(path: PathMatch(kind: .regularExpression, value: "/u/[0-9]+")),
        ])
        #expect(first.filters == [
            .requestHeaderModifier(HeaderModifier(
                set: [HeaderValue(name: "X-Route", value: "users")],
                add: [HeaderValue(name: "X-Trace", value: "on")],
                remove: ["x-internal"])),
            .responseHeaderModifier(HeaderModifier(set: [HeaderValue(name: "Cache-Control", value: "no-store")])),
            .urlRewrite(URLRewrite(hostname: "users.internal")),
        ])
        #expect(first.backendRefs == [BackendRef(name: "users-v1", weight: 90), BackendRef(name: "users-v2", weight: 10)])

        let second = spec.rules[1]
        #expect(second.name == nil)
        #expect(second.matches.isEmpty)
        #expect(second.filters == [.urlRewrite(URLRewrite(path: .replaceFullPath("/index.html")))])
        #expect(second.backendRefs == [BackendRef(name: "fallback", weight: 1)])

        let third = spec.rules[2]
        #expect(third.matches == [HTTPRouteMatch(path: PathMatch(kind: .prefix, value: "/api"))])
        #expect(third.filters == [.urlRewrite(URLRewrite(path: .replacePrefixMatch("/v2")))])
    }

    @Test("Omitted route fields get the Gateway API defaults")
    func routeDefaults() throws {
        let resources = try ResourceDecoder.decode(yaml: """
            apiVersion: heddle.dev/v1alpha1
            kind: HTTPRoute
            metadata:
              name: web
            spec:
              rules:
                - matches:
                    - method: POST
                    - path:
                        value: /api
                    - path:
                        type: Exact
                    - headers:
                        - name: x-a
                          value: b
                  backendRefs:
                    - name: web
            """)
        guard case .httpRoute(_, let spec) = try #require(resources.first) else {
            Issue.record("expected an HTTPRoute")
            return
        }
        #expect(spec.parentRefs.isEmpty)
        #expect(spec.hostnames.isEmpty)
        try #require(spec.rules.count == 1)
        #expect(spec.rules[0].matches == [
            HTTPRouteMatch(path: PathMatch(kind: .prefix, value: "/"), method: "POST"),
            HTTPRouteMatch(path: PathMatch(kind: .prefix, value: "/api")),
            HTTPRouteMatch(path: PathMatch(kind: .exact, value: "/")),
            HTTPRouteMatch(headers: [ValueMatch(name: "x-a", value: "b", kind: .exact)]),
        ])
        #expect(spec.rules[0].filters.isEmpty)
        #expect(spec.rules[0].backendRefs == [BackendRef(name: "web", weight: 1)])
    }

    // MARK: apiVersion

    @Test("HTTPRoute accepts the Gateway API version as well as Heddle's")
    func gatewayAPIVersionForRoutes() throws {
        for version in [heddleAPIVersion, gatewayAPIVersion] {
            let resources = try ResourceDecoder.decode(yaml: """
                apiVersion: \(version)
                kind: HTTPRoute
                metadata:
                  name: web
                spec:
                  rules:
                    - backendRefs:
                        - name: web
                """)
            #expect(resources.map(\.kind) == [.httpRoute], "apiVersion \(version)")
        }
        #expect(gatewayAPIVersion == "gateway.networking.k8s.io/v1")
        #expect(heddleAPIVersion == "heddle.dev/v1alpha1")
    }

    @Test("Service and Proxy refuse the Gateway API version", arguments: [
        ("Service", "spec:\n  endpoints:\n    - address: 10.0.0.1:80"),
        ("Proxy", "spec: {}"),
    ])
    func gatewayAPIVersionOnlyForRoutes(kind: String, spec: String) throws {
        let errors = decodeErrors("""
            apiVersion: gateway.networking.k8s.io/v1
            kind: \(kind)
            metadata:
              name: x
            \(spec)
            """)
        let found = try error(at: "apiVersion", in: errors)
        #expect(found.resource == "\(kind)/x")
        #expect(found.reason.contains("'gateway.networking.k8s.io/v1' is not supported for \(kind)"))
        #expect(found.reason.contains("heddle.dev/v1alpha1"))
        #expect(found.line == 1)
    }

    // MARK: documents

    @Test("A multi-document stream yields every resource, in order")
    func multiDocument() throws {
        let yaml = """
            # comments before the first document are fine
            ---
            apiVersion: heddle.dev/v1alpha1
            kind: Proxy
            metadata:
              name: sidecar
            ---
            \(serviceYAML("web"))
            ---
            \(serviceYAML("api", address: "10.0.0.2:9000"))
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata:
              name: web
            spec:
              rules:
                - backendRefs:
                    - name: web
            """
        let resources = try ResourceDecoder.decode(yaml: yaml)
        #expect(resources.map(\.reference) == ["Proxy/sidecar", "Service/web", "Service/api", "HTTPRoute/web"])
        guard case .service(_, let api) = resources[2] else {
            Issue.record("expected a Service")
            return
        }
        #expect(api.endpoints.map(\.address) == [HostPort(host: "10.0.0.2", port: 9000)])
    }

    @Test("An empty stream yields no resources")
    func emptyStream() throws {
        #expect(try ResourceDecoder.decode(yaml: "").isEmpty)
        #expect(try ResourceDecoder.decode(yaml: "# nothing here\n").isEmpty)
    }

    @Test("Empty documents, as from a trailing or doubled separator, are skipped")
    func emptyDocuments() throws {
        let resources = try ResourceDecoder.decode(yaml: "---\n\(serviceYAML("web"))\n---\n---\n\(serviceYAML("api"))\n---\n")
        #expect(resources.map(\.reference) == ["Service/web", "Service/api"])
    }

    @Test("A Service and an HTTPRoute may share a name")
    func sameNameDifferentKinds() throws {
        let config = try MeshConfig.load(yaml: documents(
            serviceYAML("web"),
            routeYAML("web", spec: """
                  rules:
                    - backendRefs:
                        - name: web
                """)))
        #expect(config.services.keys.sorted() == ["web"])
        #expect(config.routes.map(\.name) == ["web"])
    }
}
