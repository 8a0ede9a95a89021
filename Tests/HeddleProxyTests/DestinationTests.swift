import HeddleCore
import HeddlePolicy
import NIOCore
import NIOEmbedded
import Prometheus
import Testing

@testable import HeddleProxy

/// The per-loop resilience state of a service (`Destination`) and the choices made from it:
/// limits split across loops, ejected and unhealthy endpoints skipped, failover, panic mode,
/// and where a retry goes. No sockets: a loop context over an embedded loop, a virtual clock.
@Suite("Destination")
struct DestinationTests {
    static let start = Instant(nanoseconds: 1_000_000_000_000)

    static func endpoint(_ port: Int) throws -> ResolvedEndpoint {
        ResolvedEndpoint(address: try SocketAddress(ipAddress: "10.0.0.1", port: port), weight: 1, configured: HostPort(host: "10.0.0.1", port: port))
    }

    /// A loop context over services `a` (ports 8001–8003) and `b` (9001), with a route `shop`
    /// whose backend `a` fails over to `b`.
    static func context(serviceExtra: String = "", loops: Int = 1) throws -> LoopContext {
        let yaml = documents(
            serviceYAML("a", addresses: ["10.0.0.1:8001", "10.0.0.1:8002", "10.0.0.1:8003"], extra: Self.indented(serviceExtra)),
            serviceYAML("b", addresses: ["10.0.0.1:9001"]),
            routeYAML("shop", spec: Self.indented("hostnames: [shop]\nrules:\n  - backendRefs: [{name: a, failover: b}]")))
        var resolution = Resolution()
        resolution.endpoints["a"] = try [8001, 8002, 8003].map(endpoint)
        resolution.endpoints["b"] = [try endpoint(9001)]
        let snapshot = ProxySnapshot(generation: 1, config: try loadConfig(yaml), resolved: resolution)
        return LoopContext(
            eventLoop: EmbeddedEventLoop(), snapshot: snapshot, metrics: ProxyMetrics(), accessLog: AccessLog(spec: AccessLogSpec()),
            seed: 7, loopCount: loops)
    }

    /// `text` indented by two spaces, as a `spec` body.
    static func indented(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")
    }

    static func index(_ context: LoopContext, _ name: String) throws -> Int {
        try #require(context.snapshot.serviceIndex[name])
    }

    /// Fails `endpoint` of service `a` `count` times in a row.
    static func fail(_ context: LoopContext, service: Int, endpoint: Int, times count: Int, at now: Instant) {
        for _ in 0..<count {
            let ticket = context.destinations[service].balancer.requestStarted(endpoint, now: now)
            context.finish(ticket, service: service, success: false, startedAt: now.nanoseconds, now: now.nanoseconds)
        }
    }

    @Test("Breaker limits and the retry budget's reserve are split across loops, rounded up")
    func limitsAreSplitAcrossLoops() throws {
        let context = try Self.context(serviceExtra: "circuitBreaker: {maxRequests: 5, maxConnections: 1}\nretryBudget: {minRetriesPerSecond: 3}", loops: 2)
        let a = try Self.index(context, "a")
        #expect(context.destinations[a].breaker.limits[.requests] == 3)
        #expect(context.destinations[a].breaker.limits[.connections] == 1)
        #expect(context.destinations[a].budget.minRetriesPerSecond == 2)
        var breaker = context.destinations[a].breaker
        let granted = (0..<4).map { _ in breaker.tryAcquire(.requests) }
        #expect(granted == [true, true, true, false])
    }

    @Test("Five failures in a row eject an endpoint: picks skip it and the event is counted")
    func ejectedEndpointsAreSkipped() throws {
        let context = try Self.context()
        let a = try Self.index(context, "a")
        Self.fail(context, service: a, endpoint: 1, times: 5, at: Self.start)
        #expect(context.destinations[a].outliers.isEjected(1, now: Self.start))
        #expect(context.destinations[a].hasExclusions)
        for _ in 0..<200 {
            #expect(context.pickEndpoint(service: a, hash: nil, now: Self.start) != 1)
        }
        let metrics = context.metrics.registry
        var text: [UInt8] = []
        metrics.emit(into: &text)
        #expect(String(decoding: text, as: UTF8.self).contains("heddle_outlier_ejections_total{service=\"a\",reason=\"consecutive-failures\"} 1"))
    }

    @Test("With every endpoint out, the rule's failover takes the request; without one, panic mode picks anyway")
    func failoverThenPanic() throws {
        let context = try Self.context(serviceExtra: "outlierDetection: {maxEjectionPercent: 100}")
        let a = try Self.index(context, "a")
        let b = try Self.index(context, "b")
        for endpoint in 0..<3 {
            Self.fail(context, service: a, endpoint: endpoint, times: 5, at: Self.start)
        }
        #expect(context.destinations[a].outliers.ejectedCount == 3)
        #expect(context.pickEndpoint(service: a, hash: nil, now: Self.start, allowPanic: false) == nil)
        // Panic mode: still an endpoint of a.
        #expect(context.pickEndpoint(service: a, hash: nil, now: Self.start) != nil)

        let request = TestRouteRequest("shop")
        var choice = TargetChoice()
        context.chooseTarget(into: &choice, for: request, table: context.snapshot.routeTables["outbound"], snapshot: context.snapshot, now: Self.start.nanoseconds)
        #expect(choice.failure == nil)
        #expect(choice.backend == b && choice.failedOver)
        #expect(choice.endpoint?.key == "10.0.0.1:9001")
    }

    @Test("A retry goes to another endpoint, then to the failover service, then to the same endpoint")
    func retryTargets() throws {
        let context = try Self.context(serviceExtra: "outlierDetection: {maxEjectionPercent: 100}")
        let a = try Self.index(context, "a")
        let b = try Self.index(context, "b")
        let rule = try #require(context.snapshot.routeTables["outbound"]?.match(TestRouteRequest("shop"))?.rule)
        for _ in 0..<50 {
            let target = try #require(context.retryTarget(rule: rule, backend: a, hash: nil, avoiding: "10.0.0.1:8002", now: Self.start))
            #expect(target.backend == a && target.endpoint != 1)
        }
        // 8001 and 8003 ejected: 8002 is a's only endpoint, and it just failed.
        Self.fail(context, service: a, endpoint: 0, times: 5, at: Self.start)
        Self.fail(context, service: a, endpoint: 2, times: 5, at: Self.start)
        let failover = try #require(context.retryTarget(rule: rule, backend: a, hash: nil, avoiding: "10.0.0.1:8002", now: Self.start))
        #expect(failover.backend == b)
        // Without a failover rule, the same endpoint is tried again.
        let again = try #require(context.retryTarget(rule: nil, backend: a, hash: nil, avoiding: "10.0.0.1:8002", now: Self.start))
        #expect(again.backend == a && again.endpoint == 1)
    }

    @Test("Unhealthy endpoints (active health checks) are skipped, and follow a reload by key")
    func unhealthyEndpointsAreSkipped() throws {
        let context = try Self.context()
        let a = try Self.index(context, "a")
        context.setUnhealthy(["10.0.0.1:8001", "10.0.0.1:8003"], service: "a")
        for _ in 0..<50 {
            #expect(context.pickEndpoint(service: a, hash: nil, now: Self.start) == 1)
        }
        context.install(context.snapshot)
        #expect(context.destinations[a].unhealthy == [true, false, true])
    }

    @Test("A rate limit refuses with 429 details and a Retry-After once its burst is spent")
    func rateLimit() throws {
        let yaml = documents(
            serviceYAML("a"),
            routeYAML("shop", spec: Self.indented("hostnames: [shop]\nrules:\n  - backendRefs: [{name: a}]\n    filters:\n      - type: RateLimit\n        rateLimit: {requestsPerSecond: 2, burst: 2}")))
        let snapshot = ProxySnapshot(generation: 1, config: try loadConfig(yaml), resolved: Resolution())
        let context = LoopContext(eventLoop: EmbeddedEventLoop(), snapshot: snapshot, metrics: ProxyMetrics(), accessLog: AccessLog(spec: AccessLogSpec()), seed: 1)
        let rule = try #require(snapshot.routeTables["outbound"]?.match(TestRouteRequest("shop"))?.rule)
        let now = Self.start.nanoseconds
        #expect(context.rateLimit(listener: nil, rule: rule, now: now) == nil)
        #expect(context.rateLimit(listener: nil, rule: rule, now: now) == nil)
        let refused = try #require(context.rateLimit(listener: nil, rule: rule, now: now))
        #expect(refused.reason == .rateLimited && refused.status == 429 && refused.retryAfterSeconds == 1)
        // Half a second later a token is back.
        #expect(context.rateLimit(listener: nil, rule: rule, now: now + 500_000_000) == nil)
    }
}
