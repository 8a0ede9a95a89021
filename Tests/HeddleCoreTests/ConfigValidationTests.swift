import HeddleCore
import Testing

/// Every way a configuration is refused, with the field path, reason and line each error names.
@Suite("Config validation")
struct ConfigValidationTests {
    // MARK: strict reading

    @Test("An unknown field is refused with its path, the fields expected there, and its line")
    func unknownField() throws {
        let errors = decodeErrors("""
            apiVersion: heddle.dev/v1alpha1
            kind: HTTPRoute
            metadata:
              name: api
            spec:
              rules:
                - matches:
                    - path:
                        value: /api
                  backendRef:
                    - name: api
            """)
        let found = try error(at: "spec.rules[0].backendRef", in: errors)
        #expect(found.resource == "HTTPRoute/api")
        #expect(found.reason.hasPrefix("unknown field"))
        #expect(found.reason.contains("backendRefs, filters, matches, name, retry, timeouts"))
        #expect(found.line == 10)
        #expect(found.description == "HTTPRoute/api: spec.rules[0].backendRef: \(found.reason) (line 10)")
    }

    @Test("Unknown fields are refused at every level", arguments: [
        ("apiVersion: heddle.dev/v1alpha1\nkind: Service\nmetadata:\n  name: web\nspec:\n  endpoints:\n    - address: 10.0.0.1:80\n      wieght: 2", "spec.endpoints[0].wieght", 8),
        ("apiVersion: heddle.dev/v1alpha1\nkind: Service\nmetadata:\n  name: web\nspec:\n  endpoint: []", "spec.endpoint", 6),
        ("apiVersion: heddle.dev/v1alpha1\nkind: Service\nmetadata:\n  name: web\n  nmae: x\nspec:\n  endpoints: []", "metadata.nmae", 5),
        ("apiVersion: heddle.dev/v1alpha1\nkind: Proxy\nmetadata:\n  name: p\nstatus: {}", "status", 5),
        ("apiVersion: heddle.dev/v1alpha1\nkind: Proxy\nmetadata:\n  name: p\nspec:\n  http:\n    timeout: 1s", "spec.http.timeout", 7),
        ("apiVersion: heddle.dev/v1alpha1\nkind: Proxy\nmetadata:\n  name: p\nspec:\n  outbound:\n    port: 80", "spec.outbound.port", 7),
    ])
    func unknownFieldsEverywhere(yaml: String, path: String, line: Int) throws {
        let found = try error(at: path, in: decodeErrors(yaml))
        #expect(found.reason.hasPrefix("unknown field"))
        #expect(found.line == line)
    }

    @Test("An endpoint's identity is a Heddle SPIFFE ID, on a service spoken to over HTTP/2", arguments: [
        ("spec:\n  protocol: http2\n  endpoints:\n    - address: 10.0.0.1:4143\n      identity: https://api.example/", "must be a workload identity, spiffe://<trust-domain>/service/<name>"),
        ("spec:\n  protocol: http2\n  endpoints:\n    - address: 10.0.0.1:4143\n      identity: spiffe://heddle.local/api", "must be a workload identity, spiffe://<trust-domain>/service/<name>"),
        ("spec:\n  endpoints:\n    - address: 10.0.0.1:4143\n      identity: spiffe://heddle.local/service/api", "an endpoint with an identity is a Heddle proxy, reached over mutual TLS and HTTP/2 (or opaque TCP): the service's protocol must be http2, grpc or tcp"),
    ])
    func endpointIdentity(spec: String, reason: String) throws {
        let found = try error(at: "spec.endpoints[0].identity", in: decodeErrors("apiVersion: heddle.dev/v1alpha1\nkind: Service\nmetadata:\n  name: api\n\(spec)"))
        #expect(found.reason == reason)
    }

    @Test("An endpoint's identity and the inbound listener's TLS mode are read; strict is the default")
    func identityAndInboundTLS() throws {
        let config = try MeshConfig.load(yaml: """
            apiVersion: heddle.dev/v1alpha1
            kind: Proxy
            metadata:
              name: p
            spec:
              inbound:
                appAddress: 127.0.0.1:8080
            ---
            apiVersion: heddle.dev/v1alpha1
            kind: Service
            metadata:
              name: api
            spec:
              protocol: grpc
              endpoints:
                - address: 10.0.0.1:4143
                  identity: spiffe://prod.example/service/api
            """)
        #expect(config.proxy.inbound?.tls == .strict)
        #expect(config.services["api"]?.endpoints.first?.identity == "spiffe://prod.example/service/api")
        let permissive = try error(at: "spec.inbound.tls", in: decodeErrors("apiVersion: heddle.dev/v1alpha1\nkind: Proxy\nmetadata:\n  name: p\nspec:\n  inbound:\n    appAddress: 127.0.0.1:8080\n    tls: loose"))
        #expect(permissive.reason.contains("strict, permissive, disabled"), "\(permissive.reason)")
    }

    @Test("A value of the wrong type is refused with the type expected", arguments: [
        ("spec:\n  endpoints:\n    - address: 10.0.0.1:80\n      weight: heavy", "spec.endpoints[0].weight", "must be an integer"),
        ("spec:\n  endpoints:\n    - address: 10.0.0.1:80\n      weight: 1.5", "spec.endpoints[0].weight", "must be an integer"),
        ("spec:\n  endpoints: 10.0.0.1:80", "spec.endpoints", "must be a list"),
        ("spec:\n  endpoints:\n    - address: [10.0.0.1, 80]", "spec.endpoints[0].address", "must be a string"),
        ("spec:\n  endpoints:\n    - address: 10.0.0.1:80\n      labels: [a]", "spec.endpoints[0].labels", "must be a mapping of strings"),
        ("spec:\n  endpoints: []\n  loadBalancer: fast", "spec.loadBalancer", "must be a mapping"),
        ("spec:\n  endpoints: []\n  dnsRefreshSeconds: often", "spec.dnsRefreshSeconds", "must be an integer"),
    ])
    func wrongType(spec: String, path: String, reason: String) throws {
        let errors = decodeErrors("apiVersion: heddle.dev/v1alpha1\nkind: Service\nmetadata:\n  name: web\n\(spec)")
        let found = try error(at: path, in: errors)
        #expect(found.reason == reason)
        #expect(found.resource == "Service/web")
    }

    @Test("A value outside a closed set names the allowed values")
    func notOneOf() throws {
        let errors = decodeErrors("""
            apiVersion: heddle.dev/v1alpha1
            kind: Service
            metadata:
              name: web
            spec:
              endpoints: []
              loadBalancer:
                policy: random
            """)
        let found = try error(at: "spec.loadBalancer.policy", in: errors)
        #expect(found.reason == "'random' is not one of: p2c-peak-ewma, round-robin, least-request, ring-hash")
        #expect(found.line == 8)
    }

    // MARK: numbers and durations

    @Test("A negative backend weight names the exact backend and the allowed range")
    func negativeWeight() throws {
        let errors = loadErrors(documents(
            serviceYAML("a"), serviceYAML("b"),
            routeYAML("split", spec: """
                  rules:
                    - backendRefs:
                        - name: a
                          weight: 5
                        - name: b
                          weight: -1
                """)))
        let found = try error(at: "spec.rules[0].backendRefs[1].weight", in: errors)
        #expect(found.resource == "HTTPRoute/split")
        #expect(found.reason == "must be between 0 and 1000000 (relative weight)")
        #expect(errors.count == 1)
    }

    @Test("Out-of-range numbers name their range", arguments: [
        ("spec:\n  http:\n    maxHeadBytes: 100", "spec.http.maxHeadBytes", "must be between 1024 and 1048576 (bytes)"),
        ("spec:\n  http:\n    maxHeaderCount: 0", "spec.http.maxHeaderCount", "must be between 1 and 10000 (headers)"),
        ("spec:\n  http:\n    maxIdlePerEndpoint: -1", "spec.http.maxIdlePerEndpoint", "must be between 0 and 100000 (connections)"),
        ("spec:\n  accessLog:\n    sampleRate: 1.5", "spec.accessLog.sampleRate", "must be between 0 and 1"),
        ("spec:\n  accessLog:\n    sampleRate: often", "spec.accessLog.sampleRate", "must be a number"),
    ])
    func outOfRange(spec: String, path: String, reason: String) throws {
        let errors = decodeErrors("apiVersion: heddle.dev/v1alpha1\nkind: Proxy\nmetadata:\n  name: p\n\(spec)")
        #expect(try error(at: path, in: errors).reason == reason)
    }

    @Test("A backend weight above the limit, and all-zero weights, are refused")
    func weightLimits() throws {
        let errors = decodeErrors(documents(
            routeYAML("big", spec: """
                  rules:
                    - backendRefs:
                        - name: a
                          weight: 1000001
                """),
            routeYAML("zero", spec: """
                  rules:
                    - backendRefs:
                        - name: a
                          weight: 0
                        - name: b
                          weight: 0
                """)))
        let big = try error(at: "spec.rules[0].backendRefs[0].weight", in: errors)
        #expect(big.resource == "HTTPRoute/big")
        let zero = try error(at: "spec.rules[0].backendRefs", in: errors)
        #expect(zero.resource == "HTTPRoute/zero")
        #expect(zero.reason == "at least one backend needs a weight above 0")
    }

    @Test("Durations that cannot be read, or are zero, are refused", arguments: [
        ("requestTimeout: 10", "'10' is not a duration (use a number with ms, s, m or h, such as 250ms or 15s)"),
        ("idleTimeout: -1s", "'-1s' is not a duration (use a number with ms, s, m or h, such as 250ms or 15s)"),
        ("connectTimeout: 0s", "must be greater than zero"),
        ("drainGracePeriod: [1s]", "must be a duration such as 250ms, 15s or 1m"),
    ])
    func badDurations(setting: String, reason: String) throws {
        let errors = decodeErrors("apiVersion: heddle.dev/v1alpha1\nkind: Proxy\nmetadata:\n  name: p\nspec:\n  http:\n    \(setting)")
        let key = String(setting.prefix { $0 != ":" })
        let found = try error(at: "spec.http.\(key)", in: errors)
        #expect(found.reason == reason)
        #expect(found.line == 7)
    }

    // MARK: routes

    @Test("An invalid regular expression is refused where it is written", arguments: [
        ("- path:\n            type: RegularExpression\n            value: \"/api/([a-z\"", "spec.rules[0].matches[0].path.value"),
        ("- headers:\n            - name: x-version\n              type: RegularExpression\n              value: \"v[0-9\"", "spec.rules[0].matches[0].headers[0].value"),
        ("- queryParams:\n            - name: q\n              type: RegularExpression\n              value: \"(*)\"", "spec.rules[0].matches[0].queryParams[0].value"),
    ])
    func invalidRegex(match: String, path: String) throws {
        let errors = decodeErrors(routeYAML("api", spec: """
              rules:
                - matches:
                    \(match)
                  backendRefs:
                    - name: api
            """))
        let found = try error(at: path, in: errors)
        #expect(found.reason.contains("is not a valid regular expression"))
        #expect(found.resource == "HTTPRoute/api")
    }

    @Test("A path match must be a path", arguments: ["api", "/api?x=1", "/api#top", "/a b"])
    func invalidPathValue(value: String) throws {
        let errors = decodeErrors(routeYAML("api", spec: """
              rules:
                - matches:
                    - path:
                        type: PathPrefix
                        value: "\(value)"
                  backendRefs:
                    - name: api
            """))
        let found = try error(at: "spec.rules[0].matches[0].path.value", in: errors)
        #expect(found.reason == "'\(value)' must be a path starting with '/', without query, fragment or spaces")
    }

    @Test("Invalid methods and header names in matches are refused")
    func invalidMethodAndHeaderName() throws {
        let errors = decodeErrors(routeYAML("api", spec: """
              rules:
                - matches:
                    - method: "GET POST"
                      headers:
                        - name: "x bad"
                          value: v
                        - name: x-missing-value
                  backendRefs:
                    - name: api
            """))
        #expect(try error(at: "spec.rules[0].matches[0].method", in: errors).reason == "'GET POST' is not an HTTP method")
        #expect(try error(at: "spec.rules[0].matches[0].headers[0].name", in: errors).reason == "'x bad' is not a valid header name")
        #expect(try error(at: "spec.rules[0].matches[0].headers[1]", in: errors).reason == "value is required")
    }

    @Test("A bad address is refused with the expected form", arguments: [
        ("spec:\n  outbound:\n    address: localhost", "spec.outbound.address", "localhost"),
        ("spec:\n  admin:\n    address: 127.0.0.1:99999", "spec.admin.address", "127.0.0.1:99999"),
        ("spec:\n  inbound:\n    appAddress: ::1:8080", "spec.inbound.appAddress", "::1:8080"),
        ("spec:\n  gateways:\n    - name: edge\n      address: edge", "spec.gateways[0].address", "edge"),
    ])
    func badHostPort(spec: String, path: String, text: String) throws {
        let errors = decodeErrors("apiVersion: heddle.dev/v1alpha1\nkind: Proxy\nmetadata:\n  name: p\n\(spec)")
        let found = try error(at: path, in: errors)
        #expect(found.reason == "'\(text)' is not an address of the form host:port (IPv6 as [::1]:port)")
        #expect(found.resource == "Proxy/p")
    }

    @Test("A service endpoint needs a real port, once")
    func endpointPortAndDuplicates() throws {
        let errors = decodeErrors("""
            apiVersion: heddle.dev/v1alpha1
            kind: Service
            metadata:
              name: web
            spec:
              endpoints:
                - address: 10.0.0.1:0
                - address: 10.0.0.2:80
                - address: 10.0.0.2:80
                - weight: 2
            """)
        #expect(try error(at: "spec.endpoints[0].address", in: errors).reason == "port must be between 1 and 65535")
        #expect(try error(at: "spec.endpoints[2].address", in: errors).reason == "endpoint 10.0.0.2:80 is listed twice")
        #expect(try error(at: "spec.endpoints[3]", in: errors).reason == "address is required")
        #expect(errors.count == 3)
    }

    @Test("A bad hostname is refused", arguments: [
        "api.example.com:8080", "bad host", "under_score.example.com", "*", "*.", "a.*.example.com",
        "example.com.", "", "exämple.com", String(repeating: "a", count: 64) + ".com",
    ])
    func badHostname(host: String) throws {
        let errors = decodeErrors(routeYAML("api", spec: """
              hostnames:
                - ok.example.com
                - "\(host)"
              rules:
                - backendRefs:
                    - name: api
            """))
        let found = try error(at: "spec.hostnames[1]", in: errors)
        #expect(found.reason.hasPrefix("'\(host)' is not a hostname"))
        #expect(found.line == 8)
    }

    @Test("A header value with a line break or control character is refused", arguments: [
        #""evil\r\nX-Injected: 1""#, #""a\nb""#, #""a\rb""#, #""bell\a""#, #""del\u007F""#,
    ])
    func headerValueWithLineBreak(value: String) throws {
        let errors = decodeErrors(routeYAML("api", spec: """
              rules:
                - filters:
                    - type: ResponseHeaderModifier
                      responseHeaderModifier:
                        add:
                          - name: x-ok
                            value: "tab\tis fine"
                          - name: x-bad
                            value: \(value)
                  backendRefs:
                    - name: api
            """))
        let found = try error(at: "spec.rules[0].filters[0].responseHeaderModifier.add[1].value", in: errors)
        #expect(found.reason == "header values may not contain control characters or line breaks")
        #expect(errors.count == 1)
    }

    @Test("A header modifier may not set headers the proxy manages", arguments: [
        "content-length", "Content-Length", "host", "Host", "transfer-encoding", "connection", "upgrade", "te", "trailer", "keep-alive", "proxy-connection",
    ])
    func reservedHeaderSet(name: String) throws {
        let errors = decodeErrors(routeYAML("api", spec: """
              rules:
                - filters:
                    - type: RequestHeaderModifier
                      requestHeaderModifier:
                        set:
                          - name: \(name)
                            value: "1"
                  backendRefs:
                    - name: api
            """))
        let found = try error(at: "spec.rules[0].filters[0].requestHeaderModifier.set[0].name", in: errors)
        #expect(found.reason.hasPrefix("'\(name)' is managed by the proxy"))
    }

    @Test("A header modifier may not add headers the proxy manages, in requests or responses")
    func reservedHeaderAdd() throws {
        let errors = decodeErrors(routeYAML("api", spec: """
              rules:
                - filters:
                    - type: ResponseHeaderModifier
                      responseHeaderModifier:
                        add:
                          - name: Content-Length
                            value: "0"
                  backendRefs:
                    - name: api
            """))
        let found = try error(at: "spec.rules[0].filters[0].responseHeaderModifier.add[0].name", in: errors)
        #expect(found.reason.hasPrefix("'Content-Length' is managed by the proxy"))
    }

    /// Removing `Content-Length`, `Transfer-Encoding` or `Host` breaks framing as surely as
    /// setting them; the head writer refuses such an edit at run time, so the configuration
    /// must refuse it up front.
    @Test("A header modifier may not remove headers the proxy manages", arguments: ["content-length", "Transfer-Encoding", "host"])
    func reservedHeaderRemove(name: String) throws {
        let errors = decodeErrors(routeYAML("api", spec: """
              rules:
                - filters:
                    - type: RequestHeaderModifier
                      requestHeaderModifier:
                        remove:
                          - x-internal
                          - \(name)
                  backendRefs:
                    - name: api
            """))
        #expect(errors.contains { $0.path == "spec.rules[0].filters[0].requestHeaderModifier.remove[1]" },
                "removing \(name) was accepted")
    }

    @Test("Filters need a known type and the body for it")
    func filterShape() throws {
        let errors = decodeErrors(routeYAML("api", spec: """
              rules:
                - filters:
                    - type: RequestRedirect
                    - type: URLRewrite
                    - requestHeaderModifier:
                        set: []
                  backendRefs:
                    - name: api
            """))
        #expect(try error(at: "spec.rules[0].filters[0].type", in: errors).reason == "'RequestRedirect' is not a filter type (RequestHeaderModifier, ResponseHeaderModifier, URLRewrite, RequestMirror, Fault, RateLimit)")
        #expect(try error(at: "spec.rules[0].filters[1]", in: errors).reason == "urlRewrite is required for type URLRewrite")
        #expect(try error(at: "spec.rules[0].filters[2]", in: errors).reason.hasPrefix("type is required"))
    }

    @Test("ReplacePrefixMatch needs every match of its rule to be a PathPrefix match", arguments: [
        "- path:\n            type: Exact\n            value: /api",
        "- path:\n            type: RegularExpression\n            value: /api/.*",
        "- path:\n            value: /api\n        - path:\n            type: Exact\n            value: /v1",
    ])
    func replacePrefixMatchWithoutPrefix(matches: String) throws {
        let errors = decodeErrors(routeYAML("api", spec: """
              rules:
                - matches:
                    \(matches)
                  filters:
                    - type: URLRewrite
                      urlRewrite:
                        path:
                          type: ReplacePrefixMatch
                          replacePrefixMatch: /v2
                  backendRefs:
                    - name: api
            """))
        let found = try error(at: "spec.rules[0].filters[0].urlRewrite.path", in: errors)
        #expect(found.reason == "ReplacePrefixMatch needs every match of the rule to have a PathPrefix path")
    }

    @Test("ReplacePrefixMatch with PathPrefix matches is accepted, whichever order the fields come in")
    func replacePrefixMatchWithPrefix() throws {
        let errors = decodeErrors(routeYAML("api", spec: """
              rules:
                - filters:
                    - type: URLRewrite
                      urlRewrite:
                        path:
                          type: ReplacePrefixMatch
                          replacePrefixMatch: /v2
                  matches:
                    - path:
                        type: PathPrefix
                        value: /api
                    - path:
                        value: /v1/api
                  backendRefs:
                    - name: api
            """))
        #expect(errors.isEmpty, "\(errors)")
    }

    /// A rule without matches matches as `PathPrefix /` (the Gateway API default, and how
    /// `HTTPRouteRule` documents it), so its prefix can be replaced.
    @Test("ReplacePrefixMatch on a rule without matches (an implicit PathPrefix /) is accepted")
    func replacePrefixMatchWithDefaultMatch() throws {
        let errors = decodeErrors(routeYAML("api", spec: """
              rules:
                - filters:
                    - type: URLRewrite
                      urlRewrite:
                        path:
                          type: ReplacePrefixMatch
                          replacePrefixMatch: /v2
                  backendRefs:
                    - name: api
            """))
        #expect(errors.isEmpty, "\(errors)")
    }

    @Test("URL rewrites need a concrete hostname and absolute paths")
    func badRewrites() throws {
        let errors = decodeErrors(routeYAML("api", spec: """
              rules:
                - filters:
                    - type: URLRewrite
                      urlRewrite:
                        hostname: "*.example.com"
                        path:
                          type: ReplaceFullPath
                          replaceFullPath: relative
                  backendRefs:
                    - name: api
                - filters:
                    - type: URLRewrite
                      urlRewrite:
                        path:
                          type: ReplaceFullPath
                  backendRefs:
                    - name: api
                - filters:
                    - type: URLRewrite
                      urlRewrite:
                        path:
                          type: Strip
                  backendRefs:
                    - name: api
            """))
        #expect(try error(at: "spec.rules[0].filters[0].urlRewrite.hostname", in: errors).reason == "'*.example.com' is not a hostname")
        #expect(try error(at: "spec.rules[0].filters[0].urlRewrite.path", in: errors).reason == "replaceFullPath must be a path starting with '/'")
        #expect(try error(at: "spec.rules[1].filters[0].urlRewrite.path", in: errors).reason == "replaceFullPath is required for type ReplaceFullPath")
        #expect(try error(at: "spec.rules[2].filters[0].urlRewrite.path", in: errors).reason == "type must be ReplaceFullPath or ReplacePrefixMatch")
    }

    @Test("A route needs rules, and every rule needs backends")
    func routeRequiredFields() throws {
        let errors = decodeErrors(documents(
            routeYAML("norules", spec: "  hostnames: [a]"),
            routeYAML("emptyrules", spec: "  rules: []"),
            routeYAML("nobackends", spec: "  rules:\n    - matches:\n        - path:\n            value: /"),
            routeYAML("emptybackends", spec: "  rules:\n    - backendRefs: []"),
            routeYAML("unnamed", spec: "  parentRefs:\n    - sectionName: x\n  rules:\n    - backendRefs:\n        - weight: 1")))
        func reason(_ resource: String, _ path: String) -> String? {
            errors.first { $0.resource == resource && $0.path == path }?.reason
        }
        #expect(reason("HTTPRoute/norules", "spec") == "rules is required")
        #expect(reason("HTTPRoute/emptyrules", "spec.rules") == "must have at least one rule")
        #expect(reason("HTTPRoute/nobackends", "spec.rules[0]") == "backendRefs is required (the services this rule sends to)")
        #expect(reason("HTTPRoute/emptybackends", "spec.rules[0].backendRefs") == "must name at least one backend")
        #expect(reason("HTTPRoute/unnamed", "spec.parentRefs[0]") == "name is required")
        #expect(reason("HTTPRoute/unnamed", "spec.rules[0].backendRefs[0]") == "name is required")
    }

    // MARK: resources

    @Test("A resource needs kind, apiVersion, a valid metadata.name and (except Proxy) a spec")
    func resourceShape() throws {
        let errors = decodeErrors(documents(
            "apiVersion: heddle.dev/v1alpha1\nspec: {}",
            "apiVersion: heddle.dev/v1alpha1\nkind: Gateway\nmetadata:\n  name: b",
            "kind: Service\nmetadata:\n  name: c\nspec:\n  endpoints: []",
            "apiVersion: heddle.dev/v1alpha1\nkind: Service\nmetadata:\n  name: Not_Valid\nspec:\n  endpoints: []",
            "apiVersion: heddle.dev/v1alpha1\nkind: Service\nspec:\n  endpoints: []",
            "apiVersion: heddle.dev/v1alpha1\nkind: Service\nmetadata:\n  name: f",
            "- just\n- a list"))
        func reason(_ resource: String, _ path: String) -> String? {
            errors.first { $0.resource == resource && $0.path == path }?.reason
        }
        #expect(reason("document 1", "")?.hasPrefix("kind is required") == true)
        #expect(reason("Gateway/b", "kind") == "'Gateway' is not one of: Proxy, Service, HTTPRoute, AuthorizationPolicy")
        #expect(reason("Service/c", "") == "apiVersion is required (heddle.dev/v1alpha1)")
        #expect(reason("Service/Not_Valid", "metadata.name")?.hasPrefix("'Not_Valid' is not a valid name") == true)
        #expect(reason("Service", "") == "metadata.name is required")
        #expect(reason("Service/f", "") == "spec is required")
        #expect(reason("document 7", "") == "a resource must be a mapping with apiVersion, kind, metadata and spec")
        #expect(errors.count == 7, "\(errors.map(\.description))")
    }

    @Test("Resource names must be DNS-label-like", arguments: [
        ("web", true), ("web-2", true), ("0web", true), ("a", true), (String(repeating: "a", count: 63), true),
        ("Web", false), ("-web", false), ("web-", false), ("we_b", false), ("we.b", false), ("", false),
        (String(repeating: "a", count: 64), false), ("wéb", false),
    ])
    func names(name: String, valid: Bool) {
        #expect(ResourceMetadata.isValidName(name) == valid)
    }

    @Test("Invalid YAML is refused as a whole", arguments: [
        "key: \"unterminated",
        "a: b\n c: d\n",
        "apiVersion: heddle.dev/v1alpha1\nkind: Service\nmetadata:\n  name: [web\nspec: {\n",
        "apiVersion: heddle.dev/v1alpha1\nkind: Service\n\tmetadata: {}\n",
    ])
    func invalidYAML(yaml: String) throws {
        let errors = decodeErrors(yaml)
        try #require(errors.count == 1, "got \(errors)")
        #expect(errors[0].path == "")
        #expect(errors[0].reason.hasPrefix("invalid YAML:"))
        #expect(throws: ConfigErrors.self) { try MeshConfig.load(yaml: yaml) }
    }

    /// Yams' `compose_all` returns a lazy sequence that ends quietly at a syntax error (keeping
    /// the error in its `error` property), so the decoder must check for it: otherwise the
    /// documents before the error load as if they were the whole configuration.
    @Test("A syntax error in a later document is not silently dropped")
    func invalidYAMLInLaterDocument() throws {
        let yaml = documents(
            serviceYAML("web"),
            "apiVersion: heddle.dev/v1alpha1\nkind: HTTPRoute\nmetadata:\n  name: [web\nspec:\n  rules: []")
        let errors = decodeErrors(yaml)
        #expect(errors.contains { $0.reason.hasPrefix("invalid YAML:") }, "decoded without error: \(errors)")
        #expect(throws: ConfigErrors.self) { try MeshConfig.load(yaml: yaml) }
    }

    // MARK: proxy

    @Test("A tcp listener needs a tcpService")
    func tcpListenerWithoutService() throws {
        let errors = decodeErrors("""
            apiVersion: heddle.dev/v1alpha1
            kind: Proxy
            metadata:
              name: p
            spec:
              outbound:
                protocol: tcp
              gateways:
                - name: db
                  address: 0.0.0.0:5432
                  protocol: tcp
            """)
        #expect(try error(at: "spec.outbound", in: errors).reason == "tcpService is required when protocol is tcp")
        #expect(try error(at: "spec.gateways[0]", in: errors).reason == "tcpService is required when protocol is tcp")
        #expect(errors.count == 2)
    }

    @Test("Gateway names must be valid and unique among all listeners")
    func duplicateGatewayNames() throws {
        let errors = decodeErrors("""
            apiVersion: heddle.dev/v1alpha1
            kind: Proxy
            metadata:
              name: p
            spec:
              gateways:
                - name: edge
                  address: 0.0.0.0:8080
                - name: edge
                  address: 0.0.0.0:8081
                - name: outbound
                  address: 0.0.0.0:8082
                - name: inbound
                  address: 0.0.0.0:8083
                - name: Bad_Name
                  address: 0.0.0.0:8084
                - name: noaddress
                - address: 0.0.0.0:8085
            """)
        let duplicate = try error(at: "spec.gateways[1].name", in: errors)
        #expect(duplicate.reason == "listener name 'edge' is used twice")
        #expect(duplicate.line == 9)
        #expect(try error(at: "spec.gateways[2].name", in: errors).reason == "listener name 'outbound' is used twice")
        #expect(try error(at: "spec.gateways[3].name", in: errors).reason == "listener name 'inbound' is used twice")
        #expect(try error(at: "spec.gateways[4].name", in: errors).reason == "'Bad_Name' is not a valid listener name")
        #expect(try error(at: "spec.gateways[5]", in: errors).reason == "address is required")
        #expect(try error(at: "spec.gateways[6]", in: errors).reason == "name is required")
        #expect(errors.count == 6)
    }

    @Test("Inbound needs the app's address; the access log mode must be known")
    func inboundAndAccessLog() throws {
        let errors = decodeErrors("""
            apiVersion: heddle.dev/v1alpha1
            kind: Proxy
            metadata:
              name: p
            spec:
              inbound:
                address: 0.0.0.0:4143
              accessLog:
                mode: verbose
            """)
        #expect(try error(at: "spec.inbound", in: errors).reason == "appAddress is required: the local app's host:port")
        #expect(try error(at: "spec.accessLog.mode", in: errors).reason == "'verbose' is not one of: off, full, sampled")
    }

    @Test("Tracing needs an http(s) collector and a rate between 0 and 1", arguments: [
        ("tracing:\n    sampleRate: 0.5", "spec.tracing", "collector is required: the OTLP/HTTP endpoint spans go to (http://host:4318)"),
        ("tracing:\n    collector: collector:4318", "spec.tracing.collector", "'collector:4318' is not an http:// or https:// URL (an OTLP/HTTP endpoint, such as http://127.0.0.1:4318)"),
        ("tracing:\n    collector: http://", "spec.tracing.collector", "'http://' names no host"),
        ("tracing:\n    collector: http://user:pw@c:4318", "spec.tracing.collector", "'http://user:pw@c:4318' carries credentials; give the collector's address only"),
        ("tracing:\n    collector: http://c:99999", "spec.tracing.collector", "'http://c:99999' has an invalid port '99999'"),
        ("tracing:\n    collector: http://c:4318/v1/traces?x=1", "spec.tracing.collector", "'http://c:4318/v1/traces?x=1' has a query or fragment; give the collector's address and path only"),
        ("tracing:\n    collector: http://c\n    sampleRate: 1.5", "spec.tracing.sampleRate", "must be between 0 and 1"),
        ("tracing:\n    collector: http://c\n    serviceName: ''", "spec.tracing.serviceName", "must not be empty"),
        ("tracing:\n    collector: http://c\n    sample: 1", "spec.tracing.sample", "unknown field"),
    ])
    func tracingErrors(spec: String, path: String, reason: String) throws {
        let errors = decodeErrors("apiVersion: heddle.dev/v1alpha1\nkind: Proxy\nmetadata:\n  name: p\nspec:\n  \(spec)")
        #expect(try error(at: path, in: errors).reason.hasPrefix(reason))
    }

    @Test("Tracing: the collector gets the OTLP traces path when it names none; the rate defaults to 1 %")
    func tracingDefaults() throws {
        let resources = try ResourceDecoder.decode(yaml: """
            apiVersion: heddle.dev/v1alpha1
            kind: Proxy
            metadata:
              name: p
            spec:
              tracing:
                collector: http://127.0.0.1:4318
            """)
        guard case .proxy(_, let spec) = try #require(resources.first) else {
            Issue.record("not a Proxy: \(resources)")
            return
        }
        let tracing = try #require(spec.tracing)
        #expect(tracing.exportURL == "http://127.0.0.1:4318/v1/traces")
        #expect(tracing.sampleRate == 0.01)
        #expect(tracing.serviceName == nil)
        #expect(TracingSpec(collector: "https://otel.example:443/custom/path").exportURL == "https://otel.example:443/custom/path")
    }

    @Test("The inbound app speaks http1 unless appProtocol says http2 or grpc; tcp is refused")
    func inboundAppProtocol() throws {
        let grpc = try ResourceDecoder.decode(yaml: """
            apiVersion: heddle.dev/v1alpha1
            kind: Proxy
            metadata:
              name: p
            spec:
              inbound:
                appAddress: 127.0.0.1:50051
                appProtocol: grpc
            """)
        guard case .proxy(_, let spec) = try #require(grpc.first) else {
            Issue.record("not a Proxy: \(grpc)")
            return
        }
        #expect(spec.inbound?.appProtocol == .grpc)
        let errors = decodeErrors("""
            apiVersion: heddle.dev/v1alpha1
            kind: Proxy
            metadata:
              name: p
            spec:
              inbound:
                appAddress: 127.0.0.1:8080
                appProtocol: tcp
            """)
        #expect(try error(at: "spec.inbound.appProtocol", in: errors).reason.hasPrefix("must be http1, http2 or grpc"))
    }

    // MARK: services

    @Test("ring-hash needs a hashKey, and only ring-hash takes one")
    func ringHashKey() throws {
        let errors = decodeErrors(documents(
            "apiVersion: heddle.dev/v1alpha1\nkind: Service\nmetadata:\n  name: a\nspec:\n  endpoints: []\n  loadBalancer:\n    policy: ring-hash",
            "apiVersion: heddle.dev/v1alpha1\nkind: Service\nmetadata:\n  name: b\nspec:\n  endpoints: []\n  loadBalancer:\n    policy: round-robin\n    hashKey:\n      header: x-user",
            "apiVersion: heddle.dev/v1alpha1\nkind: Service\nmetadata:\n  name: c\nspec:\n  endpoints: []\n  loadBalancer:\n    policy: ring-hash\n    hashKey: {}",
            "apiVersion: heddle.dev/v1alpha1\nkind: Service\nmetadata:\n  name: d\nspec:\n  protocol: udp"))
        func reason(_ resource: String, _ path: String) -> String? {
            errors.first { $0.resource == resource && $0.path == path }?.reason
        }
        #expect(reason("Service/a", "spec.loadBalancer") == "ring-hash needs hashKey (header or cookie)")
        #expect(reason("Service/b", "spec.loadBalancer.hashKey") == "hashKey applies only to policy ring-hash")
        #expect(reason("Service/c", "spec.loadBalancer.hashKey") == "give header or cookie")
        #expect(reason("Service/d", "spec.protocol") == "'udp' is not one of: http1, http2, grpc, tcp")
        #expect(reason("Service/d", "spec") == "endpoints is required (a list of {address: host:port})")
    }

    // MARK: cross-resource checks

    @Test("A backend naming an unknown service is refused at load")
    func unknownBackend() throws {
        let yaml = documents(
            serviceYAML("web"),
            routeYAML("web", spec: """
                  rules:
                    - backendRefs:
                        - name: web
                    - backendRefs:
                        - name: web
                        - name: ghost
                """))
        #expect(decodeErrors(yaml).isEmpty, "each resource is valid on its own")
        let errors = loadErrors(yaml)
        let found = try error(at: "spec.rules[1].backendRefs[1].name", in: errors)
        #expect(found.resource == "HTTPRoute/web")
        #expect(found.reason == "service 'ghost' is not defined")
        #expect(errors.count == 1)
    }

    @Test("A tcp service cannot be an HTTP route's backend")
    func tcpBackend() throws {
        let errors = loadErrors(documents(
            serviceYAML("db", protocol: "tcp"),
            routeYAML("db", spec: "  rules:\n    - backendRefs:\n        - name: db")))
        let found = try error(at: "spec.rules[0].backendRefs[0].name", in: errors)
        #expect(found.reason == "service 'db' speaks tcp and cannot be an HTTP route's backend")
    }

    @Test("parentRefs must name a listener")
    func unknownParent() throws {
        let errors = loadErrors(documents(
            serviceYAML("web"),
            routeYAML("web", spec: "  parentRefs:\n    - name: outbound\n    - name: edge\n  rules:\n    - backendRefs:\n        - name: web")))
        let found = try error(at: "spec.parentRefs[1].name", in: errors)
        #expect(found.resource == "HTTPRoute/web")
        #expect(found.reason == "no listener is named 'edge' (listeners: outbound)")
    }

    @Test("A listener's tcpService must be a defined service")
    func unknownTCPService() throws {
        let errors = loadErrors(documents(
            """
            apiVersion: heddle.dev/v1alpha1
            kind: Proxy
            metadata:
              name: p
            spec:
              outbound:
                tcpService: ghost
              gateways:
                - name: db
                  address: 0.0.0.0:5432
                  protocol: tcp
                  tcpService: phantom
            """,
            serviceYAML("web")))
        #expect(errors.count == 2)
        #expect(errors.contains { $0.path == "spec.outbound.tcpService" && $0.reason == "service 'ghost' is not defined" })
        #expect(errors.contains { $0.path.hasPrefix("spec.gateways[") && $0.path.hasSuffix("].tcpService") && $0.reason == "service 'phantom' is not defined" })
    }

    @Test("The same kind and name twice is refused, as are two Proxy resources")
    func duplicateResources() throws {
        let errors = loadErrors(documents(
            serviceYAML("web"),
            serviceYAML("web", address: "10.0.0.2:80"),
            "apiVersion: heddle.dev/v1alpha1\nkind: Proxy\nmetadata:\n  name: one",
            "apiVersion: heddle.dev/v1alpha1\nkind: Proxy\nmetadata:\n  name: two"))
        #expect(errors.contains(ConfigError(resource: "Service/web", path: "metadata.name", reason: "Service/web is defined twice")))
        #expect(errors.contains(ConfigError(resource: "Proxy/two", path: "kind", reason: "only one Proxy resource may be given")))
        #expect(errors.count == 2)
    }

    // MARK: reporting

    @Test("Every problem in every document is reported at once")
    func manyErrorsAtOnce() throws {
        let errors = decodeErrors(documents(
            """
            apiVersion: heddle.dev/v1alpha1
            kind: Service
            metadata:
              name: web
            spec:
              endpoints:
                - address: nowhere
                  weight: -2
              colour: blue
            """,
            serviceYAML("fine"),
            routeYAML("api", spec: """
                  hostnames: ["bad host"]
                  rules:
                    - matches:
                        - path:
                            type: RegularExpression
                            value: "(("
                      backendRefs:
                        - name: web
                          weight: x
                """)))
        let summary = Set(errors.map { "\($0.resource ?? "?") \($0.path)" })
        #expect(summary == [
            "Service/web spec.colour",
            "Service/web spec.endpoints[0].address",
            "HTTPRoute/api spec.hostnames[0]",
            "HTTPRoute/api spec.rules[0].matches[0].path.value",
            "HTTPRoute/api spec.rules[0].backendRefs[0].weight",
        ])
        // Negative weight on an endpoint with a bad address is not reached: the address fails first.
        #expect(errors.count == 5)
        let all = ConfigErrors(errors).description.split(separator: "\n")
        #expect(all.count == 5)
    }

    @Test("Errors are described as resource, path, reason and line")
    func errorDescription() {
        #expect(ConfigError(resource: "Service/web", path: "spec.endpoints", reason: "must be a list", line: 7).description
            == "Service/web: spec.endpoints: must be a list (line 7)")
        #expect(ConfigError(path: "", reason: "invalid YAML: x").description == "invalid YAML: x")
        #expect(ConfigError(resource: "Proxy", path: "spec", reason: "r").description == "Proxy: spec: r")
        #expect(ConfigErrors([ConfigError(path: "a", reason: "b"), ConfigError(path: "c", reason: "d")]).description == "a: b\nc: d")
    }
}
