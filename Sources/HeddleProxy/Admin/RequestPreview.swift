import HeddleAPI
import HeddleCore
import HeddlePolicy

/// A request described by hand (`heddle explain --from SERVICE --host H --path P`), routed like
/// a real one.
struct DescribedRequest: RouteRequest {
    let host: Substring
    let path: Substring
    let method: Substring
    let headers: [(name: String, value: String)]
    let query: [(name: String, value: String)]

    func headerValues(_ lowercasedName: String) -> [Substring] {
        headers.filter { $0.name == lowercasedName }.map { Substring($0.value) }
    }

    func queryValue(_ name: String) -> Substring? {
        query.first { $0.name == name }.map { Substring($0.value) }
    }
}

/// Builds what this proxy would do with a request, without sending it (`/explain` on the
/// admin endpoint): the route rule that matches, its policies, and each backend's endpoints
/// with their state on one worker (ejections, health checks, breaker and retry budget are kept
/// per worker, each with its share of the limits).
enum RequestPreview {
    static func make(_ request: DescribedRequest, listener: String, loop: LoopContext, now: UInt64) -> RoutePreview {
        let snapshot = loop.snapshot
        var preview = RoutePreview(
            listener: listener, host: String(request.host), path: String(request.path), method: String(request.method),
            fault: false, mirrors: [], backends: [])
        guard let table = snapshot.routeTables[listener] else {
            preview.failure = "this proxy has no listener '\(listener)' that routes requests"
            return preview
        }
        guard let match = table.match(request) else {
            preview.failure = "no-route: no route for host '\(request.host)' path '\(request.path)'"
            return preview
        }
        let rule = match.rule
        let resilience = rule.resilience
        preview.route = rule.label
        preview.requestTimeoutMilliseconds = Double(resilience.requestTimeoutNanos ?? snapshot.requestTimeoutNanos) / 1e6
        preview.perTryTimeoutMilliseconds = resilience.perTryTimeoutNanos > 0 ? Double(resilience.perTryTimeoutNanos) / 1e6 : nil
        preview.maxAttempts = resilience.retry.maxAttempts
        preview.retryOnStatuses = resilience.retry.retryableStatuses
        preview.fault = resilience.fault != nil
        preview.mirrors = resilience.mirrors.compactMap { $0.service < snapshot.services.count ? snapshot.services[$0.service].name : nil }
        let weights = rule.split.weights
        let instant = Instant(nanoseconds: now)
        for (position, index) in rule.backends.enumerated() where index < snapshot.services.count && index < loop.destinations.count {
            let service = snapshot.services[index]
            let destination = loop.destinations[index]
            let endpoints = EndpointStates.onWorker(serviceIndex: index, loop: loop, now: now).map {
                RoutePreview.Endpoint(address: $0.address, weight: $0.weight, identity: $0.identity, state: $0.state, ejectedForSeconds: $0.ejectedForSeconds)
            }
            let failover = position < rule.failover.count && rule.failover[position] >= 0 && rule.failover[position] < snapshot.services.count
                ? snapshot.services[rule.failover[position]].name : nil
            var problem: String?
            if service.endpoints.isEmpty {
                problem = service.unresolved.first.map { "dns-failed: \($0)" } ?? "no-endpoints: the service has no endpoint"
            } else if endpoints.allSatisfy({ $0.state != "available" }) {
                problem = "every endpoint is ejected or unhealthy: requests go to \(failover.map { "the failover service \($0)" } ?? "them anyway (panic mode)")"
            } else if destination.breaker.count(.requests) >= destination.breaker.limits[.requests] {
                problem = "circuit-open: \(destination.breaker.count(.requests)) requests in flight, at the limit"
            }
            preview.backends.append(RoutePreview.Backend(
                service: service.name, weight: position < weights.count ? weights[position] : 0, failover: failover,
                protocol: service.spec.protocol.rawValue, endpoints: endpoints,
                requestsInFlight: destination.breaker.count(.requests), requestLimit: destination.breaker.limits[.requests],
                retryBudgetAvailable: destination.budget.available(now: instant), problem: problem))
        }
        if preview.backends.allSatisfy({ $0.weight == 0 }) {
            preview.failure = "no-endpoints: route \(rule.label) has no backend with a weight above 0"
        }
        return preview
    }
}
