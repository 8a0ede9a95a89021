import HeddleAPI

/// Turns what proxies remember of a failed request into an explanation: which hop failed,
/// why, and what to look at. Pure (tested without sockets); the registry's view of the
/// services involved completes the advice.
enum FailureExplainer {
    static func explain(id: String, hops: [ExplainedHop], services: [ServiceSummary]) -> Explanation {
        // The caller's side first: outbound hops, then the callee's inbound ones.
        let ordered = hops.sorted { ($0.direction == "outbound" ? 0 : 1, $0.instance) < ($1.direction == "outbound" ? 0 : 1, $1.instance) }
        let summaries = Dictionary(services.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        // The hop closest to the app that made an error itself; else an app's own 5xx.
        let made = ordered.last { $0.heddleError != nil }
        if let made, let reason = made.heddleError {
            let whereText = made.direction == "inbound"
                ? "the proxy of \(made.instance) (service \(made.service)), receiving it"
                : "the proxy of \(made.instance) (service \(made.service)), sending it\(made.backend.map { " to \($0)" } ?? "")"
            var advice = self.advice(reason: reason, hop: made, summaries: summaries)
            if made.retries > 0 { advice.append("It was retried \(made.retries) time\(made.retries == 1 ? "" : "s") before failing.") }
            return Explanation(
                requestID: id,
                verdict: "\(made.method) \(made.authority)\(made.path) failed at \(whereText): \(reason) (\(made.status))\(made.details.map { ": \($0)" } ?? "").",
                reason: reason, advice: advice, hops: ordered)
        }
        if let app = ordered.last(where: { $0.direction == "inbound" && $0.status >= 500 }) {
            return Explanation(
                requestID: id,
                verdict: "\(app.method) \(app.authority)\(app.path) failed in the app of \(app.instance) (service \(app.service)): it answered \(app.status); the proxies passed it on.",
                reason: nil,
                advice: [
                    "Look at the logs of \(app.instance)'s app near this time; heddle tap \(app.service) --status 5xx shows whether it keeps failing.",
                    "Retries for \(app.status) are a route's `retry.on` setting (docs/resilience.md); outlier detection ejects an instance that keeps failing.",
                ],
                hops: ordered)
        }
        let last = ordered.last!
        return Explanation(
            requestID: id,
            verdict: "\(last.method) \(last.authority)\(last.path) was answered \(last.status) by \(last.endpoint ?? "its endpoint"), as \(last.instance)'s proxy saw it; no Heddle proxy saw it fail inside the mesh.",
            reason: nil,
            advice: ["The endpoint is not a Heddle sidecar (or its proxy has forgotten the request): look at \(last.backend ?? "the service")'s own logs."],
            hops: ordered)
    }

    private static func instances(_ service: String?, _ summaries: [String: ServiceSummary]) -> String {
        guard let service else { return "" }
        guard let summary = summaries[service] else { return " Service \(service) is not known to the control plane." }
        return " Service \(service) has \(summary.healthyInstances) healthy of \(summary.totalInstances) registered instance\(summary.totalInstances == 1 ? "" : "s")."
    }

    static func advice(reason: String, hop: ExplainedHop, summaries: [String: ServiceSummary]) -> [String] {
        let backend = hop.backend
        switch reason {
        case "no-route":
            return ["No route of \(hop.service)'s proxy matches host '\(hop.authority)' and path \(hop.path): heddle get HTTPRoute lists the routes, and a service is also reached by its own name (is '\(hop.authority)' a service?)."]
        case "no-endpoints":
            return ["The proxy had no endpoint to send to." + instances(backend, summaries) + " heddle endpoints \(backend ?? "") shows them; an instance whose app fails its health check or whose lease ran out is left out."]
        case "connect-failed", "connect-timeout":
            return ["The endpoint \(hop.endpoint ?? "") did not accept the connection: its sidecar (or app) is down or unreachable." + instances(backend, summaries), "Retries and outlier detection move traffic to other endpoints when there are any (docs/resilience.md)."]
        case "upstream-tls-failed", "no-workload-identity":
            return ["Mutual TLS with \(hop.endpoint ?? "the endpoint") failed: \(hop.details ?? ""). heddle check --proxy ADMIN shows the certificates and trust bundle of each side (docs/security.md)."]
        case "upstream-timeout", "deadline-exceeded":
            return ["The answer did not come in time: the route's timeouts (or the caller's deadline) ran out after \(Int(hop.latencyMilliseconds)) ms. heddle top shows \(backend ?? "the service")'s p99; raise timeout on the route only if the service is meant to be that slow."]
        case "upstream-reset", "upstream-protocol-error":
            return ["The endpoint \(hop.endpoint ?? "") closed the connection or answered something that is not valid HTTP: look at its app's logs (a crash, a restart)."]
        case "circuit-open":
            return ["Too many requests to \(backend ?? "the service") were in flight from this proxy: its circuitBreaker limits refused this one at once rather than queue it. heddle top shows in-flight requests; a slow service fills the limit."]
        case "retry-budget-exhausted":
            return ["A retry was due but \(backend ?? "the service")'s retry budget was spent: it fails often enough that retrying would add load." + instances(backend, summaries)]
        case "rate-limited":
            return ["A rate limit of the route or listener refused the request (Retry-After says when to come back)."]
        case "fault-injected":
            return ["The route's fault injection aborted it on purpose: remove the route's fault block to stop it."]
        case "denied-by-policy":
            return ["An AuthorizationPolicy of \(hop.service) does not allow \(hop.source ?? "a caller without identity"): \(hop.details ?? ""). heddle get AuthorizationPolicy lists the policies; heddle check --proxy shows which apply."]
        case "dns-failed":
            return ["The endpoint's DNS name did not resolve: \(hop.details ?? "")."]
        default:
            return ["The proxy refused the request itself (\(reason)): \(hop.details ?? "")."]
        }
    }
}
