import HeddlePolicy
import HeddleTracing
import Prometheus

/// The proxy's Prometheus metrics. Handles for a (route, backend) pair are made once per
/// config snapshot and event loop, so recording a request is a few atomic adds, with no
/// lookup by name on the hot path.
public final class ProxyMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    /// The bounds of the request latency histogram's buckets.
    public static let latencyBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
    ]

    private let errorCounters: [ProxyErrorReason: Counter]
    let downstreamConnections: Gauge
    /// `heddle tap` streams open on the admin endpoint.
    let tapsOpen: Gauge
    let configReloadsAccepted: Counter
    let configReloadsRefused: Counter
    /// Mutual-TLS handshakes by side (`inbound`: peers calling this proxy; `outbound`: this
    /// proxy calling peers) and result (`accepted`, `refused`).
    let tlsInboundAccepted: Counter
    let tlsInboundRefused: Counter
    let tlsOutboundAccepted: Counter
    let tlsOutboundRefused: Counter

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var errors: [ProxyErrorReason: Counter] = [:]
        let errorName = MetricNameDescriptor(
            namespace: "heddle", metricName: "proxy_errors", unitName: "total",
            helpText: "Responses the proxy made itself, by heddle-error reason")
        for reason in ProxyErrorReason.allCases {
            errors[reason] = registry.makeCounter(descriptor: errorName, labels: [("reason", reason.identifier)])
        }
        errorCounters = errors
        downstreamConnections = registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "heddle", metricName: "downstream_connections", unitName: "",
            helpText: "Open client connections"))
        tapsOpen = registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "heddle", metricName: "taps_open", unitName: "",
            helpText: "heddle tap streams watching this proxy"))
        let reloads = MetricNameDescriptor(
            namespace: "heddle", metricName: "config_reloads", unitName: "total",
            helpText: "Configuration loads, by result")
        configReloadsAccepted = registry.makeCounter(descriptor: reloads, labels: [("result", "accepted")])
        configReloadsRefused = registry.makeCounter(descriptor: reloads, labels: [("result", "refused")])
        let handshakes = MetricNameDescriptor(
            namespace: "heddle", metricName: "tls_handshakes", unitName: "total",
            helpText: "Mutual-TLS handshakes with mesh peers, by side and result")
        tlsInboundAccepted = registry.makeCounter(descriptor: handshakes, labels: [("side", "inbound"), ("result", "accepted")])
        tlsInboundRefused = registry.makeCounter(descriptor: handshakes, labels: [("side", "inbound"), ("result", "refused")])
        tlsOutboundAccepted = registry.makeCounter(descriptor: handshakes, labels: [("side", "outbound"), ("result", "accepted")])
        tlsOutboundRefused = registry.makeCounter(descriptor: handshakes, labels: [("side", "outbound"), ("result", "refused")])
    }

    func recordError(_ reason: ProxyErrorReason) {
        errorCounters[reason]?.increment()
    }

    /// Spans recorded for tracing, by what became of them: `exported`, or dropped
    /// (`queue_full`, `export_failed`, `rate_limited`).
    func recordSpans(_ outcome: OTLPSpanExporter.Outcome, count: Int) {
        guard count > 0 else { return }
        registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "heddle", metricName: "trace_spans", unitName: "total", helpText: "Trace spans, by outcome (exported, queue_full, export_failed, rate_limited)"),
            labels: [("outcome", outcome.rawValue)]).increment(by: Int64(count))
    }

    /// A retry sent to `service`, by why (`connect-failed`, `reset`, `per-try-timeout`,
    /// `status`, `grpc-status`). Off the common path, so the handle is looked up each time.
    func recordRetry(service: String, reason: String) {
        registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "heddle", metricName: "retries", unitName: "total", helpText: "Retries sent, by service and reason"),
            labels: [("service", service), ("reason", reason)]).increment()
    }

    /// A request or connection an authorization policy denied, by the policy that denied it
    /// (`default-deny` when no ALLOW policy matched).
    func recordDenial(policy: String) {
        registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "heddle", metricName: "authorization_denials", unitName: "total", helpText: "Requests and connections denied by an AuthorizationPolicy, by policy"),
            labels: [("policy", policy)]).increment()
    }

    /// A retry that was due but refused by the service's retry budget.
    func recordBudgetExhausted(service: String) {
        registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "heddle", metricName: "retry_budget_exhausted", unitName: "total", helpText: "Retries refused because the service's retry budget was spent"),
            labels: [("service", service)]).increment()
    }

    /// A request refused because a circuit breaker limit of `service` was reached.
    func recordCircuitOpen(service: String, limit: CircuitBreaker.Resource) {
        registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "heddle", metricName: "circuit_open", unitName: "total", helpText: "Requests refused by a circuit breaker limit, by service and limit"),
            labels: [("service", service), ("limit", limit.label)]).increment()
    }

    /// Requests to `service` in flight changed by `delta` on one event loop (each loop reports
    /// its own change once a second, so the gauge is their sum, with no cost per request).
    func adjustInFlight(service: String, by delta: Int) {
        guard delta != 0 else { return }
        registry.makeGauge(
            descriptor: MetricNameDescriptor(namespace: "heddle", metricName: "requests_in_flight", unitName: "", helpText: "Requests in flight to each service, sampled each second"),
            labels: [("service", service)]).increment(by: Double(delta))
    }

    /// An outlier ejection or return; the gauge of ejected endpoints follows.
    func recordOutlierEvent(_ event: OutlierEvent, service: String) {
        let ejected = registry.makeGauge(
            descriptor: MetricNameDescriptor(namespace: "heddle", metricName: "endpoints_ejected", unitName: "", helpText: "Endpoints out of rotation by outlier detection (summed over event loops)"),
            labels: [("service", service)])
        switch event.kind {
        case .ejected(let reason, _):
            registry.makeCounter(
                descriptor: MetricNameDescriptor(namespace: "heddle", metricName: "outlier_ejections", unitName: "total", helpText: "Endpoints ejected by outlier detection, by service and reason"),
                labels: [("service", service), ("reason", reason.rawValue)]).increment()
            ejected.increment()
        case .returned:
            ejected.decrement()
        }
    }

    /// An endpoint of `service` that active health checks found failing (`healthy` false) or
    /// passing again. Endpoints are not a label, to keep the series few.
    func recordHealthTransition(service: String, healthy: Bool) {
        registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "heddle", metricName: "health_check_transitions", unitName: "total", helpText: "Endpoints that active health checks turned unhealthy or healthy again, by service and new standing"),
            labels: [("service", service), ("to", healthy ? "healthy" : "unhealthy")]).increment()
    }

    /// How many of `service`'s endpoints active health checks hold unhealthy now.
    func setUnhealthyEndpoints(service: String, count: Int) {
        registry.makeGauge(
            descriptor: MetricNameDescriptor(namespace: "heddle", metricName: "endpoints_unhealthy", unitName: "", helpText: "Endpoints out of rotation because active health checks fail"),
            labels: [("service", service)]).set(to: Double(count))
    }

    /// A request a route's fault injection delayed or aborted.
    func recordFault(route: String, kind: String) {
        registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "heddle", metricName: "faults_injected", unitName: "total", helpText: "Requests delayed or aborted by fault injection, by route and kind"),
            labels: [("route", route), ("kind", kind)]).increment()
    }

    /// A copy of a request sent to a mirror service, by outcome (`sent`, `failed`, `skipped`).
    func recordMirror(service: String, outcome: String) {
        registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "heddle", metricName: "mirrored_requests", unitName: "total", helpText: "Requests copied to mirror services, by service and outcome"),
            labels: [("service", service), ("outcome", outcome)]).increment()
    }

    /// Handles for opaque TCP connections to one service.
    func tcpHandles(listener: String, service: String) -> TCPMetrics {
        let labels = [("listener", listener), ("service", service)]
        let connections = registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "heddle", metricName: "tcp_connections", unitName: "total", helpText: "Proxied TCP connections"),
            labels: labels)
        let bytes = MetricNameDescriptor(namespace: "heddle", metricName: "tcp_bytes", unitName: "total", helpText: "Bytes proxied over TCP, by direction")
        return TCPMetrics(
            connections: connections,
            bytesIn: registry.makeCounter(descriptor: bytes, labels: labels + [("direction", "from_client")]),
            bytesOut: registry.makeCounter(descriptor: bytes, labels: labels + [("direction", "to_client")]))
    }
}

/// Connection and byte counters of one TCP service.
struct TCPMetrics: Sendable {
    let connections: Counter
    let bytesIn: Counter
    let bytesOut: Counter
}
