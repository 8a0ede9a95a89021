import Foundation
import HeddleCore
import Testing

/// A `Service` named `name` with one endpoint and `extra` in its spec (YAML, each line
/// indented as a spec field).
func resilientServiceYAML(_ extra: String, name: String = "web", protocol proto: String = "http1") -> String {
    serviceYAML(name, protocol: proto) + "\n" + indented(extra, by: 2)
}

/// An `HTTPRoute` named `api` with one rule that sends to `web` and has `extra` (YAML, each
/// line indented as a rule field).
func ruleYAML(_ extra: String) -> String {
    routeYAML("api", spec: "  rules:\n    - backendRefs:\n        - name: web\n" + indented(extra, by: 6))
}

/// A `Proxy` named `p` whose spec is `spec` (YAML, each line indented as a spec field).
func proxyYAML(_ spec: String) -> String {
    "apiVersion: heddle.dev/v1alpha1\nkind: Proxy\nmetadata:\n  name: p\nspec:\n" + indented(spec, by: 2)
}

private func indented(_ text: String, by spaces: Int) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false)
        .map { String(repeating: " ", count: spaces) + $0 }
        .joined(separator: "\n")
}

/// Resilience settings: circuit breakers, outlier detection, health checks and retry budgets
/// of services; timeouts, retries, failover, mirrors, faults and rate limits of routes and
/// listeners.
@Suite("Resilience configuration")
struct ResilienceConfigTests {
    // MARK: defaults

    @Test("A Service without resilience settings gets the safe defaults: breaker, outlier detection and retry budget on, no health check")
    func serviceDefaults() throws {
        let resources = try ResourceDecoder.decode(yaml: serviceYAML("web"))
        guard case .service(_, let spec) = try #require(resources.first) else {
            Issue.record("expected a Service")
            return
        }
        #expect(spec.circuitBreaker == CircuitBreakerSpec(maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 1024))
        #expect(spec.outlierDetection == OutlierDetectionSpec(
            enabled: true, consecutiveFailures: 5, interval: .seconds(10), baseEjectionTime: .seconds(30),
            maxEjectionTime: .seconds(300), maxEjectionPercent: 50,
            successRate: SuccessRateSpec(enabled: true, minimumHosts: 3, requestVolume: 100, stdevFactor: 1.9)))
        #expect(spec.healthCheck == nil)
        #expect(spec.retryBudget == RetryBudgetSpec(ratio: 0.2, minRetriesPerSecond: 10, ttl: .seconds(10)))
    }

    @Test("A rule without resilience settings retries twice on connect failure, reset, 503 and UNAVAILABLE, with the Proxy's timeouts")
    func ruleDefaults() throws {
        let resources = try ResourceDecoder.decode(yaml: routeYAML("api", spec: "  rules:\n    - backendRefs:\n        - name: web"))
        guard case .httpRoute(_, let spec) = try #require(resources.first) else {
            Issue.record("expected an HTTPRoute")
            return
        }
        let rule = try #require(spec.rules.first)
        #expect(rule.timeouts == RouteTimeoutsSpec(request: nil, backendRequest: nil, idle: nil))
        #expect(rule.retry == RetryPolicySpec(
            attempts: 2, on: [.connectFailure, .reset], codes: [503], grpcCodes: [.unavailable],
            backoff: RetryBackoffSpec(base: .milliseconds(25), max: .milliseconds(250)),
            bodyBufferLimit: 65536, nonIdempotent: false))
        #expect(rule.backendRefs == [BackendRef(name: "web", weight: 1, failover: nil)])
        #expect(rule.filters.isEmpty)
    }

    @Test("Listeners have no rate limit unless given one")
    func listenerDefaults() throws {
        let resources = try ResourceDecoder.decode(yaml: proxyYAML("inbound:\n  appAddress: 127.0.0.1:8080\ngateways:\n  - name: edge\n    address: 0.0.0.0:8080"))
        guard case .proxy(_, let spec) = try #require(resources.first) else {
            Issue.record("expected a Proxy")
            return
        }
        #expect(spec.outbound.rateLimit == nil)
        #expect(spec.inbound?.rateLimit == nil)
        #expect(spec.gateways.map(\.rateLimit) == [nil])
    }

    @Test("Partial blocks keep the defaults of the fields left out")
    func partialBlocks() throws {
        let resources = try ResourceDecoder.decode(yaml: documents(
            resilientServiceYAML("""
                circuitBreaker: {maxRetries: 3}
                outlierDetection:
                  enabled: false
                  successRate: {enabled: false}
                healthCheck: {tcp: {}}
                retryBudget: {ratio: 0.5}
                """),
            resilientServiceYAML("healthCheck:\n  http: {}", name: "root"),
            resilientServiceYAML("healthCheck:\n  tcp:", name: "bare"),
            ruleYAML("""
                timeouts: {backendRequest: 2s}
                retry:
                  attempts: 3
                  backoff: {max: 1s}
                filters:
                  - type: RequestMirror
                    requestMirror: {backendRef: {name: shadow}}
                  - type: Fault
                    fault: {abort: {}}
                  - type: RateLimit
                    rateLimit: {requestsPerSecond: 50}
                """)))
        guard case .service(_, let web) = resources[0], case .service(_, let root) = resources[1],
              case .service(_, let bare) = resources[2], case .httpRoute(_, let route) = resources[3]
        else {
            Issue.record("unexpected resources \(resources)")
            return
        }
        #expect(web.circuitBreaker == CircuitBreakerSpec(maxRetries: 3))
        #expect(web.outlierDetection == OutlierDetectionSpec(enabled: false, successRate: SuccessRateSpec(enabled: false)))
        #expect(web.healthCheck == HealthCheckSpec(probe: .tcp, interval: .seconds(10), timeout: .seconds(1), healthyThreshold: 2, unhealthyThreshold: 3))
        #expect(web.retryBudget == RetryBudgetSpec(ratio: 0.5))
        #expect(root.healthCheck == HealthCheckSpec(probe: .http(path: "/")))
        #expect(bare.healthCheck == HealthCheckSpec(probe: .tcp))

        let rule = try #require(route.rules.first)
        #expect(rule.timeouts == RouteTimeoutsSpec(backendRequest: .seconds(2)))
        #expect(rule.retry == RetryPolicySpec(attempts: 3, backoff: RetryBackoffSpec(base: .milliseconds(25), max: .seconds(1))))
        #expect(rule.filters == [
            .requestMirror(RequestMirror(backend: "shadow", percent: 100)),
            .fault(FaultInjection(abort: FaultInjection.Abort(percent: 100, status: 503, grpcStatus: nil))),
            .rateLimit(RateLimitSpec(requestsPerSecond: 50, burst: 50)),
        ])
    }

    // MARK: every field

    @Test("A Service with every resilience field decodes to exactly those settings")
    func serviceAllFields() throws {
        let resources = try ResourceDecoder.decode(yaml: resilientServiceYAML("""
            circuitBreaker:
              maxConnections: 100
              maxPendingRequests: 0
              maxRequests: 200
              maxRetries: 5
            outlierDetection:
              enabled: true
              consecutiveFailures: 0
              interval: 5s
              baseEjectionTime: 15s
              maxEjectionTime: 2m
              maxEjectionPercent: 100
              successRate:
                enabled: true
                minimumHosts: 5
                requestVolume: 20
                stdevFactor: 2.5
            healthCheck:
              http:
                path: /healthz?deep=1
              interval: 3s
              timeout: 500ms
              healthyThreshold: 1
              unhealthyThreshold: 4
            retryBudget:
              ratio: 0.1
              minRetriesPerSecond: 0
              ttl: 30s
            """, protocol: "grpc"))
        guard case .service(_, let spec) = try #require(resources.first) else {
            Issue.record("expected a Service")
            return
        }
        let expected = ServiceSpec(
            protocol: .grpc,
            endpoints: [EndpointSpec(address: HostPort(host: "10.0.0.1", port: 8080))],
            circuitBreaker: CircuitBreakerSpec(maxConnections: 100, maxPendingRequests: 0, maxRequests: 200, maxRetries: 5),
            outlierDetection: OutlierDetectionSpec(
                enabled: true, consecutiveFailures: 0, interval: .seconds(5), baseEjectionTime: .seconds(15),
                maxEjectionTime: .seconds(120), maxEjectionPercent: 100,
                successRate: SuccessRateSpec(enabled: true, minimumHosts: 5, requestVolume: 20, stdevFactor: 2.5)),
            healthCheck: HealthCheckSpec(
                probe: .http(path: "/healthz?deep=1"), interval: .seconds(3), timeout: .milliseconds(500),
                healthyThreshold: 1, unhealthyThreshold: 4),
            retryBudget: RetryBudgetSpec(ratio: 0.1, minRetriesPerSecond: 0, ttl: .seconds(30)))
        #expect(spec == expected)

        let decoded = try JSONDecoder().decode(ServiceSpec.self, from: JSONEncoder().encode(spec))
        #expect(decoded == spec)
    }

    @Test("A rule with every resilience field decodes to exactly those settings")
    func ruleAllFields() throws {
        let resources = try ResourceDecoder.decode(yaml: routeYAML("api", spec: """
              rules:
                - backendRefs:
                    - name: web-a
                      weight: 3
                      failover: web-b
                    - name: web-b
                  timeouts:
                    request: 15s
                    backendRequest: 5s
                    idle: 5m
                  retry:
                    attempts: 10
                    on: [connect-failure, reset, per-try-timeout]
                    codes: [502, 503, 429]
                    grpcCodes: [14, RESOURCE_EXHAUSTED, 4]
                    backoff:
                      base: 10ms
                      max: 1s
                    bodyBufferLimit: 1MiB
                    nonIdempotent: true
                  filters:
                    - type: RequestMirror
                      requestMirror:
                        backendRef:
                          name: shadow
                          port: 8080
                        percent: 10
                    - type: RequestMirror
                      requestMirror:
                        backendRef: {name: audit}
                        percent: 0.5
                    - type: Fault
                      fault:
                        delay:
                          percent: 10
                          duration: 2s
                        abort:
                          percent: 5
                          status: 503
                          grpcStatus: 14
                    - type: RateLimit
                      rateLimit:
                        requestsPerSecond: 100
                        burst: 200
            """))
        guard case .httpRoute(_, let spec) = try #require(resources.first) else {
            Issue.record("expected an HTTPRoute")
            return
        }
        let expected = HTTPRouteRule(
            filters: [
                .requestMirror(RequestMirror(backend: "shadow", percent: 10)),
                .requestMirror(RequestMirror(backend: "audit", percent: 0.5)),
                .fault(FaultInjection(
                    delay: FaultInjection.Delay(percent: 10, duration: .seconds(2)),
                    abort: FaultInjection.Abort(percent: 5, status: 503, grpcStatus: .unavailable))),
                .rateLimit(RateLimitSpec(requestsPerSecond: 100, burst: 200)),
            ],
            backendRefs: [BackendRef(name: "web-a", weight: 3, failover: "web-b"), BackendRef(name: "web-b")],
            timeouts: RouteTimeoutsSpec(request: .seconds(15), backendRequest: .seconds(5), idle: .seconds(300)),
            retry: RetryPolicySpec(
                attempts: 10, on: [.connectFailure, .reset, .perTryTimeout], codes: [502, 503, 429],
                grpcCodes: [.unavailable, .resourceExhausted, .deadlineExceeded],
                backoff: RetryBackoffSpec(base: .milliseconds(10), max: .seconds(1)),
                bodyBufferLimit: 1024 * 1024, nonIdempotent: true))
        #expect(spec.rules == [expected])

        let decoded = try JSONDecoder().decode(HTTPRouteSpec.self, from: JSONEncoder().encode(spec))
        #expect(decoded == spec)
    }

    @Test("Every listener takes a rate limit; burst defaults to one second's worth")
    func listenerRateLimits() throws {
        let resources = try ResourceDecoder.decode(yaml: proxyYAML("""
            outbound:
              rateLimit: {requestsPerSecond: 100, burst: 200}
            inbound:
              appAddress: 127.0.0.1:8080
              rateLimit: {requestsPerSecond: 50}
            gateways:
              - name: edge
                address: 0.0.0.0:8080
                rateLimit:
                  requestsPerSecond: 1000
                  burst: 1
            """))
        guard case .proxy(_, let spec) = try #require(resources.first) else {
            Issue.record("expected a Proxy")
            return
        }
        #expect(spec.outbound.rateLimit == RateLimitSpec(requestsPerSecond: 100, burst: 200))
        #expect(spec.inbound?.rateLimit == RateLimitSpec(requestsPerSecond: 50, burst: 50))
        #expect(spec.gateways.first?.rateLimit == RateLimitSpec(requestsPerSecond: 1000, burst: 1))
        #expect(try JSONDecoder().decode(ProxySpec.self, from: JSONEncoder().encode(spec)) == spec)
    }

    @Test("A body buffer limit is bytes, KiB or MiB", arguments: [
        ("65536", 65536), ("0", 0), ("64KiB", 65536), ("1MiB", 1_048_576), ("64MiB", 67_108_864), ("\"512\"", 512),
    ])
    func bodyBufferLimit(text: String, bytes: Int) throws {
        let resources = try ResourceDecoder.decode(yaml: ruleYAML("retry: {bodyBufferLimit: \(text)}"))
        guard case .httpRoute(_, let spec) = try #require(resources.first) else {
            Issue.record("expected an HTTPRoute")
            return
        }
        #expect(spec.rules.first?.retry.bodyBufferLimit == bytes)
    }

    @Test("gRPC codes are read by number or by name", arguments: Array(GRPCStatusCode.allCases.dropFirst()))
    func grpcCodes(code: GRPCStatusCode) throws {
        let byNumber = ruleYAML("retry: {grpcCodes: [\(code.rawValue)]}")
        let byName = ruleYAML("retry: {grpcCodes: [\(code.name)]}").replacingOccurrences(of: "name: api", with: "name: api2")
        let resources = try ResourceDecoder.decode(yaml: documents(byNumber, byName))
        let codes = resources.compactMap { resource -> [GRPCStatusCode]? in
            guard case .httpRoute(_, let spec) = resource else { return nil }
            return spec.rules.first?.retry.grpcCodes
        }
        #expect(codes == [[code], [code]])
    }

    @Test("gRPC status names are the specification's, OK = 0 to UNAUTHENTICATED = 16")
    func grpcNames() {
        #expect(GRPCStatusCode.allCases.map(\.rawValue) == Array(0...16))
        #expect(GRPCStatusCode.allCases.map(\.name) == [
            "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
            "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
            "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
        ])
        #expect(GRPCStatusCode(name: "UNAVAILABLE") == .unavailable)
        #expect(GRPCStatusCode(name: "unavailable") == nil)
    }

    @Test("Failover and mirror services that exist are accepted at load, as is a backendRequest within the Proxy's requestTimeout")
    func validReferences() throws {
        let config = try MeshConfig.load(yaml: documents(
            serviceYAML("web"), serviceYAML("web-b"), serviceYAML("shadow"),
            proxyYAML("http: {requestTimeout: 30s}"),
            routeYAML("api", spec: """
                  rules:
                    - backendRefs:
                        - name: web
                          failover: web-b
                      timeouts: {backendRequest: 20s}
                      filters:
                        - type: RequestMirror
                          requestMirror: {backendRef: {name: shadow}}
                """)))
        #expect(config.routes.first?.spec.rules.first?.backendRefs.first?.failover == "web-b")
    }

    @Test("The resilience example loads, and docs/resilience.md shows it as it is")
    func exampleLoads() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let yaml = try String(contentsOf: root.appendingPathComponent("examples/resilience.yaml"), encoding: .utf8)
        let config = try MeshConfig.load(yaml: yaml)
        #expect(config.services["shop"]?.healthCheck?.probe == .http(path: "/healthz"))
        #expect(config.routes.first?.spec.rules.first?.retry.attempts == 3)
        #expect(config.proxy.outbound.rateLimit == RateLimitSpec(requestsPerSecond: 1000, burst: 2000))
        let doc = try String(contentsOf: root.appendingPathComponent("docs/resilience.md"), encoding: .utf8)
        #expect(doc.contains("```yaml\n" + yaml + "```\n"), "docs/resilience.md's example differs from examples/resilience.yaml")
    }

    // MARK: /config

    @Test("/config shows resilience durations as configuration text and health checks as written")
    func encodes() throws {
        let config = try MeshConfig.load(yaml: documents(
            resilientServiceYAML("healthCheck: {http: {path: /healthz}, timeout: 250ms}"),
            ruleYAML("timeouts: {request: 15s, idle: 5m}\nfilters:\n  - type: Fault\n    fault: {delay: {duration: 1500ms}}")))
        let json = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(config)) as? [String: Any])
        let web = try #require((json["services"] as? [String: Any])?["web"] as? [String: Any])
        let outlier = try #require(web["outlierDetection"] as? [String: Any])
        #expect(outlier["interval"] as? String == "10s")
        #expect(outlier["maxEjectionTime"] as? String == "300s")
        let health = try #require(web["healthCheck"] as? [String: Any])
        #expect((health["http"] as? [String: String]) == ["path": "/healthz"])
        #expect(health["timeout"] as? String == "250ms")
        #expect((web["retryBudget"] as? [String: Any])?["ttl"] as? String == "10s")

        let routes = try #require(json["routes"] as? [[String: Any]])
        let rules = try #require((routes.first?["spec"] as? [String: Any])?["rules"] as? [[String: Any]])
        let timeouts = try #require(rules.first?["timeouts"] as? [String: Any])
        #expect(timeouts["request"] as? String == "15s")
        #expect(timeouts["idle"] as? String == "300s")
        #expect(timeouts["backendRequest"] == nil)
        let retry = try #require(rules.first?["retry"] as? [String: Any])
        #expect((retry["backoff"] as? [String: String]) == ["base": "25ms", "max": "250ms"])
        #expect(retry["on"] as? [String] == ["connect-failure", "reset"])
        #expect(retry["grpcCodes"] as? [Int] == [14])
        let text = try #require(String(data: JSONEncoder().encode(config), encoding: .utf8))
        #expect(text.contains(#""duration":"1500ms""#))
    }

    // MARK: validation

    @Test("Service resilience settings out of range or of the wrong shape name their field and why", arguments: [
        ("circuitBreaker: {maxConnections: 0}", "spec.circuitBreaker.maxConnections", "must be between 1 and 1000000 (connections)"),
        ("circuitBreaker: {maxPendingRequests: -1}", "spec.circuitBreaker.maxPendingRequests", "must be between 0 and 1000000 (requests)"),
        ("circuitBreaker: {maxRequests: 1000001}", "spec.circuitBreaker.maxRequests", "must be between 1 and 1000000 (requests)"),
        ("circuitBreaker: {maxRetries: many}", "spec.circuitBreaker.maxRetries", "must be an integer"),
        ("outlierDetection: {enabled: maybe}", "spec.outlierDetection.enabled", "must be true or false"),
        ("outlierDetection: {consecutiveFailures: -1}", "spec.outlierDetection.consecutiveFailures", "must be between 0 and 1000 (failures in a row; 0 turns the check off)"),
        ("outlierDetection: {interval: 0s}", "spec.outlierDetection.interval", "must be greater than zero"),
        ("outlierDetection: {baseEjectionTime: 30}", "spec.outlierDetection.baseEjectionTime", "'30' is not a duration (use a number with ms, s, m or h, such as 250ms or 15s)"),
        ("outlierDetection: {maxEjectionPercent: 101}", "spec.outlierDetection.maxEjectionPercent", "must be between 0 and 100 (percent)"),
        ("outlierDetection: {maxEjectionTime: 10s}", "spec.outlierDetection.maxEjectionTime", "must be at least baseEjectionTime (30s)"),
        ("outlierDetection: {baseEjectionTime: 10m}", "spec.outlierDetection.baseEjectionTime", "must be at most maxEjectionTime (300s)"),
        ("outlierDetection: {baseEjectionTime: 10m, maxEjectionTime: long}", "spec.outlierDetection.maxEjectionTime", "'long' is not a duration (use a number with ms, s, m or h, such as 250ms or 15s)"),
        ("outlierDetection: {successRate: {minimumHosts: 0}}", "spec.outlierDetection.successRate.minimumHosts", "must be between 1 and 10000 (endpoints)"),
        ("outlierDetection: {successRate: {requestVolume: 0}}", "spec.outlierDetection.successRate.requestVolume", "must be between 1 and 1000000 (requests)"),
        ("outlierDetection: {successRate: {stdevFactor: 0}}", "spec.outlierDetection.successRate.stdevFactor", "must be greater than zero"),
        ("outlierDetection: {successRate: off}", "spec.outlierDetection.successRate", "must be a mapping"),
        ("healthCheck: {interval: 5s}", "spec.healthCheck", "give http: {path: ...} or tcp: {}"),
        ("healthCheck: {http: {path: /a}, tcp: {}}", "spec.healthCheck", "give http or tcp, not both"),
        ("healthCheck: {http: {path: healthz}}", "spec.healthCheck.http.path", "'healthz' must be a path starting with '/', without spaces or fragment"),
        ("healthCheck: {http: {path: '/a b'}}", "spec.healthCheck.http.path", "'/a b' must be a path starting with '/', without spaces or fragment"),
        ("healthCheck: {tcp: {port: 80}}", "spec.healthCheck.tcp", "takes no settings (write tcp: {})"),
        ("healthCheck: tcp", "spec.healthCheck", "must be a mapping"),
        ("healthCheck: {tcp: {}, healthyThreshold: 0}", "spec.healthCheck.healthyThreshold", "must be between 1 and 100 (checks in a row)"),
        ("healthCheck: {tcp: {}, unhealthyThreshold: 101}", "spec.healthCheck.unhealthyThreshold", "must be between 1 and 100 (checks in a row)"),
        ("healthCheck: {tcp: {}, timeout: 20s}", "spec.healthCheck.timeout", "must be at most interval (10s)"),
        ("healthCheck: {tcp: {}, interval: 500ms}", "spec.healthCheck.interval", "must be at least timeout (1s)"),
        ("retryBudget: {ratio: 1.5}", "spec.retryBudget.ratio", "must be between 0 and 1"),
        ("retryBudget: {ratio: -0.1}", "spec.retryBudget.ratio", "must be between 0 and 1"),
        ("retryBudget: {minRetriesPerSecond: -1}", "spec.retryBudget.minRetriesPerSecond", "must be between 0 and 1000000 (retries per second)"),
        ("retryBudget: {ttl: 500ms}", "spec.retryBudget.ttl", "must be between 1s and 60s"),
        ("retryBudget: {ttl: 2m}", "spec.retryBudget.ttl", "must be between 1s and 60s"),
    ])
    func serviceErrors(extra: String, path: String, reason: String) throws {
        let errors = decodeErrors(resilientServiceYAML(extra))
        let found = try error(at: path, in: errors)
        #expect(found.resource == "Service/web")
        #expect(found.reason == reason)
        #expect(errors.count == 1, "\(errors.map(\.description))")
    }

    @Test("Unknown resilience fields are refused where they are written", arguments: [
        ("circuitBreaker: {maxConnection: 1}", "spec.circuitBreaker.maxConnection"),
        ("outlierDetection: {ejectionTime: 1s}", "spec.outlierDetection.ejectionTime"),
        ("outlierDetection: {successRate: {stdev: 1}}", "spec.outlierDetection.successRate.stdev"),
        ("healthCheck: {grpc: {}}", "spec.healthCheck.grpc"),
        ("healthCheck: {http: {path: /, host: a}}", "spec.healthCheck.http.host"),
        ("retryBudget: {percent: 20}", "spec.retryBudget.percent"),
    ])
    func serviceUnknownFields(extra: String, path: String) throws {
        let errors = decodeErrors(resilientServiceYAML(extra))
        let found = try error(at: path, in: errors)
        #expect(found.reason.hasPrefix("unknown field (expected one of: "))
    }

    @Test("An http health check needs a service that speaks HTTP")
    func httpCheckOnTCPService() throws {
        let errors = decodeErrors(resilientServiceYAML("healthCheck: {http: {path: /}}", name: "db", protocol: "tcp"))
        let found = try error(at: "spec.healthCheck.http", in: errors)
        #expect(found.reason == "an http check needs an HTTP service; this one speaks tcp (use tcp: {})")
        #expect(decodeErrors(resilientServiceYAML("healthCheck: {tcp: {}}", name: "db", protocol: "tcp")).isEmpty)
    }

    @Test("Rule resilience settings out of range or of the wrong shape name their field and why", arguments: [
        ("retry: {attempts: 0}", "spec.rules[0].retry.attempts", "must be between 1 and 10 (attempts, the first one included)"),
        ("retry: {attempts: 11}", "spec.rules[0].retry.attempts", "must be between 1 and 10 (attempts, the first one included)"),
        ("retry: {on: [timeout]}", "spec.rules[0].retry.on[0]", "'timeout' is not one of: connect-failure, reset, per-try-timeout"),
        ("retry: {on: [reset, connect-failure, reset]}", "spec.rules[0].retry.on[2]", "'reset' is listed twice"),
        ("retry: {on: reset}", "spec.rules[0].retry.on", "must be a list"),
        ("retry: {on: [per-try-timeout]}", "spec.rules[0].retry.on", "per-try-timeout needs timeouts.backendRequest, the time each try is given"),
        ("retry: {codes: [200]}", "spec.rules[0].retry.codes[0]", "must be between 400 and 599 (HTTP status)"),
        ("retry: {codes: [503, 503]}", "spec.rules[0].retry.codes[1]", "'503' is listed twice"),
        ("retry: {grpcCodes: [UNAVAILBLE]}", "spec.rules[0].retry.grpcCodes[0]", "'UNAVAILBLE' is not a gRPC status (a number 1 to 16 or a name such as UNAVAILABLE)"),
        ("retry: {grpcCodes: [17]}", "spec.rules[0].retry.grpcCodes[0]", "must be between 1 and 16 (gRPC status)"),
        ("retry: {grpcCodes: [OK]}", "spec.rules[0].retry.grpcCodes[0]", "OK (0) is success, not a failure"),
        ("retry: {grpcCodes: [0]}", "spec.rules[0].retry.grpcCodes[0]", "OK (0) is success, not a failure"),
        ("retry: {grpcCodes: [14, UNAVAILABLE]}", "spec.rules[0].retry.grpcCodes[1]", "'UNAVAILABLE' is listed twice"),
        ("retry: {backoff: {base: 0s}}", "spec.rules[0].retry.backoff.base", "must be greater than zero"),
        ("retry: {backoff: {base: 0s, max: 10ms}}", "spec.rules[0].retry.backoff.base", "must be greater than zero"),
        ("retry: {backoff: {base: 1s}}", "spec.rules[0].retry.backoff.base", "must be at most max (250ms)"),
        ("retry: {backoff: {base: 100ms, max: 50ms}}", "spec.rules[0].retry.backoff.max", "must be at least base (100ms)"),
        ("retry: {bodyBufferLimit: 64KB}", "spec.rules[0].retry.bodyBufferLimit", "'64KB' is not a size (use bytes, or a whole number with KiB or MiB, such as 65536 or 64KiB)"),
        ("retry: {bodyBufferLimit: 1.5MiB}", "spec.rules[0].retry.bodyBufferLimit", "'1.5MiB' is not a size (use bytes, or a whole number with KiB or MiB, such as 65536 or 64KiB)"),
        ("retry: {bodyBufferLimit: -1}", "spec.rules[0].retry.bodyBufferLimit", "'-1' is not a size (use bytes, or a whole number with KiB or MiB, such as 65536 or 64KiB)"),
        ("retry: {bodyBufferLimit: 65MiB}", "spec.rules[0].retry.bodyBufferLimit", "must be between 0 and 67108864 (bytes)"),
        ("retry: {nonIdempotent: sometimes}", "spec.rules[0].retry.nonIdempotent", "must be true or false"),
        ("timeouts: {request: 0s}", "spec.rules[0].timeouts.request", "must be greater than zero"),
        ("timeouts: {idle: 5}", "spec.rules[0].timeouts.idle", "'5' is not a duration (use a number with ms, s, m or h, such as 250ms or 15s)"),
        ("timeouts: {request: 5s, backendRequest: 10s}", "spec.rules[0].timeouts.backendRequest", "must be at most request (5s)"),
        ("filters:\n  - type: RequestMirror", "spec.rules[0].filters[0]", "requestMirror is required for type RequestMirror"),
        ("filters:\n  - type: RequestMirror\n    requestMirror: {percent: 10}", "spec.rules[0].filters[0].requestMirror", "backendRef is required (the service that gets the copies)"),
        ("filters:\n  - type: RequestMirror\n    requestMirror: {backendRef: {port: 80}}", "spec.rules[0].filters[0].requestMirror.backendRef", "name is required"),
        ("filters:\n  - type: RequestMirror\n    requestMirror: {backendRef: {name: shadow}, percent: 150}", "spec.rules[0].filters[0].requestMirror.percent", "must be between 0 and 100 (percent)"),
        ("filters:\n  - type: RequestMirror\n    requestMirror: {backendRef: {name: web}}", "spec.rules[0].filters[0].requestMirror.backendRef.name", "'web' is a backend of this rule already; mirror to another service"),
        ("filters:\n  - type: Fault\n    fault: {}", "spec.rules[0].filters[0].fault", "give delay, abort or both"),
        ("filters:\n  - type: Fault\n    fault: [delay]", "spec.rules[0].filters[0].fault", "must be a mapping"),
        ("filters:\n  - type: Fault\n    fault: {delay: 2s}", "spec.rules[0].filters[0].fault.delay", "must be a mapping"),
        ("filters:\n  - type: RequestMirror\n    requestMirror: {backendRef: shadow}", "spec.rules[0].filters[0].requestMirror.backendRef", "must be a mapping"),
        ("filters:\n  - type: Fault\n    fault: {delay: {percent: 10}}", "spec.rules[0].filters[0].fault.delay", "duration is required (how long requests are held)"),
        ("filters:\n  - type: Fault\n    fault: {delay: {duration: 0ms}}", "spec.rules[0].filters[0].fault.delay.duration", "must be greater than zero"),
        ("filters:\n  - type: Fault\n    fault: {delay: {duration: 1s, percent: -1}}", "spec.rules[0].filters[0].fault.delay.percent", "must be between 0 and 100 (percent)"),
        ("filters:\n  - type: Fault\n    fault: {abort: {percent: 100.5}}", "spec.rules[0].filters[0].fault.abort.percent", "must be between 0 and 100 (percent)"),
        ("filters:\n  - type: Fault\n    fault: {abort: {status: 199}}", "spec.rules[0].filters[0].fault.abort.status", "must be between 200 and 599 (HTTP status)"),
        ("filters:\n  - type: Fault\n    fault: {abort: {status: 600}}", "spec.rules[0].filters[0].fault.abort.status", "must be between 200 and 599 (HTTP status)"),
        ("filters:\n  - type: Fault\n    fault: {abort: {grpcStatus: OK}}", "spec.rules[0].filters[0].fault.abort.grpcStatus", "OK (0) is success, not a failure"),
        ("filters:\n  - type: Fault\n    fault: {abort: {grpcStatus: Unavailable}}", "spec.rules[0].filters[0].fault.abort.grpcStatus", "'Unavailable' is not a gRPC status (a number 1 to 16 or a name such as UNAVAILABLE)"),
        ("filters:\n  - type: Fault\n    fault: {abort: {}}\n  - type: Fault\n    fault: {delay: {duration: 1s}}", "spec.rules[0].filters[1]", "only one Fault filter may be given per rule"),
        ("filters:\n  - type: RateLimit\n    rateLimit: {burst: 10}", "spec.rules[0].filters[0].rateLimit", "requestsPerSecond is required"),
        ("filters:\n  - type: RateLimit\n    rateLimit: {requestsPerSecond: 0}", "spec.rules[0].filters[0].rateLimit.requestsPerSecond", "must be between 1 and 1000000 (requests per second)"),
        ("filters:\n  - type: RateLimit\n    rateLimit: {requestsPerSecond: 10, burst: 0}", "spec.rules[0].filters[0].rateLimit.burst", "must be between 1 and 1000000 (requests)"),
        ("filters:\n  - type: RateLimit\n    rateLimit: {requestsPerSecond: 1}\n  - type: RateLimit\n    rateLimit: {requestsPerSecond: 2}", "spec.rules[0].filters[1]", "only one RateLimit filter may be given per rule"),
    ])
    func ruleErrors(extra: String, path: String, reason: String) throws {
        let errors = decodeErrors(ruleYAML(extra))
        let found = try error(at: path, in: errors)
        #expect(found.resource == "HTTPRoute/api")
        #expect(found.reason == reason)
        #expect(errors.count == 1, "\(errors.map(\.description))")
    }

    @Test("Unknown rule resilience fields are refused where they are written", arguments: [
        ("retry: {retries: 2}", "spec.rules[0].retry.retries"),
        ("retry: {backoff: {jitter: 1}}", "spec.rules[0].retry.backoff.jitter"),
        ("timeouts: {total: 1s}", "spec.rules[0].timeouts.total"),
        ("filters:\n  - type: RequestMirror\n    requestMirror: {backendRef: {name: shadow}, fraction: 1}", "spec.rules[0].filters[0].requestMirror.fraction"),
        ("filters:\n  - type: RequestMirror\n    requestMirror: {backendRef: {name: shadow, weight: 1}}", "spec.rules[0].filters[0].requestMirror.backendRef.weight"),
        ("filters:\n  - type: Fault\n    fault: {abort: {code: 503}}", "spec.rules[0].filters[0].fault.abort.code"),
        ("filters:\n  - type: Fault\n    fault: {reset: {}}", "spec.rules[0].filters[0].fault.reset"),
        ("filters:\n  - type: RateLimit\n    rateLimit: {requestsPerSecond: 1, perConnection: true}", "spec.rules[0].filters[0].rateLimit.perConnection"),
    ])
    func ruleUnknownFields(extra: String, path: String) throws {
        let errors = decodeErrors(ruleYAML(extra))
        let found = try error(at: path, in: errors)
        #expect(found.reason.hasPrefix("unknown field (expected one of: "))
    }

    @Test("A failover must be another service than its backend")
    func failoverToItself() throws {
        let errors = decodeErrors(routeYAML("api", spec: "  rules:\n    - backendRefs:\n        - name: web\n          failover: web"))
        let found = try error(at: "spec.rules[0].backendRefs[0].failover", in: errors)
        #expect(found.reason == "must be a service other than the backend itself ('web')")
        #expect(found.line == 9)
    }

    @Test("Failover and mirror services must be defined HTTP services", arguments: [
        ("ghost", "service 'ghost' is not defined", "service 'ghost' is not defined"),
        ("db", "service 'db' speaks tcp and cannot be an HTTP route's failover", "service 'db' speaks tcp and cannot be an HTTP route's mirror"),
    ])
    func unknownFailoverAndMirror(service: String, failoverReason: String, mirrorReason: String) throws {
        let yaml = documents(
            serviceYAML("web"), serviceYAML("db", protocol: "tcp"),
            routeYAML("api", spec: """
                  rules:
                    - backendRefs:
                        - name: web
                          failover: \(service)
                      filters:
                        - type: ResponseHeaderModifier
                          responseHeaderModifier: {add: [{name: x-a, value: b}]}
                        - type: RequestMirror
                          requestMirror: {backendRef: {name: \(service)}}
                """))
        #expect(decodeErrors(yaml).isEmpty, "each resource is valid on its own")
        let errors = loadErrors(yaml)
        #expect(try error(at: "spec.rules[0].backendRefs[0].failover", in: errors).reason == failoverReason)
        #expect(try error(at: "spec.rules[0].filters[1].requestMirror.backendRef.name", in: errors).reason == mirrorReason)
        #expect(errors.count == 2)
    }

    @Test("Without a request timeout of its own, a rule's backendRequest must be within the Proxy's requestTimeout")
    func backendRequestOverProxyTimeout() throws {
        let route = ruleYAML("timeouts: {backendRequest: 20s}")
        #expect(decodeErrors(route).isEmpty)
        let errors = loadErrors(documents(serviceYAML("web"), route))
        let found = try error(at: "spec.rules[0].timeouts.backendRequest", in: errors)
        #expect(found.resource == "HTTPRoute/api")
        #expect(found.reason == "must be at most the request timeout (15s, the Proxy's http.requestTimeout)")
        #expect(errors.count == 1)
        #expect(loadErrors(documents(serviceYAML("web"), ruleYAML("timeouts: {request: 30s, backendRequest: 20s}"))).isEmpty)
    }

    @Test("Listener rate limits are checked like the filter's", arguments: [
        ("outbound:\n  rateLimit: {requestsPerSecond: 0}", "spec.outbound.rateLimit.requestsPerSecond", "must be between 1 and 1000000 (requests per second)"),
        ("outbound:\n  rateLimit: {requestsPerSecond: 10, rps: 1}", "spec.outbound.rateLimit.rps", "unknown field (expected one of: burst, requestsPerSecond)"),
        ("inbound:\n  appAddress: 127.0.0.1:80\n  rateLimit: {requestsPerSecond: 10, burst: 0}", "spec.inbound.rateLimit.burst", "must be between 1 and 1000000 (requests)"),
        ("gateways:\n  - name: edge\n    address: 0.0.0.0:80\n    rateLimit: {burst: 5}", "spec.gateways[0].rateLimit", "requestsPerSecond is required"),
        ("gateways:\n  - name: edge\n    address: 0.0.0.0:80\n    rateLimit: 100", "spec.gateways[0].rateLimit", "must be a mapping"),
    ])
    func listenerErrors(spec: String, path: String, reason: String) throws {
        let errors = decodeErrors(proxyYAML(spec))
        let found = try error(at: path, in: errors)
        #expect(found.resource == "Proxy/p")
        #expect(found.reason == reason)
    }
}
