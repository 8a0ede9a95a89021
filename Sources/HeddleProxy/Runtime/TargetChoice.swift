import HeddleCore
import HeddlePolicy

/// Where a request goes, chosen in the mesh's three stages — the route rule, a backend service
/// by the rule's weights, an endpoint by the service's balancer — and why not, when a stage
/// finds nothing. What was chosen before a failure stays set, so the failure is counted
/// against its route and backend.
struct TargetChoice {
    var match: RouteMatch?
    /// Index in the snapshot's services; -1 until a backend is chosen.
    var backend = -1
    var service: ResolvedService?
    var endpoint: ResolvedEndpoint?
    var ticket: BalancerTicket?
    var failure: ProxyFailure?
    /// The backend's endpoints were all out, and the rule's failover service took the request.
    var failedOver = false
}

extension LoopContext {
    /// Routes and balances one request on this loop's state, by `table` (the listener's routes
    /// in `snapshot`). `admit` may turn the request down once its rule is known (a rate
    /// limit); `refuse` may turn a chosen service down before an endpoint is picked (an upgrade
    /// that cannot cross it, say).
    ///
    /// The caller's `choice` is filled in field by field: a choice returned by value was built
    /// and then copied, a reference count per field, on every request.
    func chooseTarget(
        into choice: inout TargetChoice, for request: some RouteRequest, table: RouteTable?, snapshot: ProxySnapshot, now: UInt64,
        admit: (CompiledRule) -> ProxyFailure? = { _ in nil },
        refuse: (ResolvedService) -> ProxyFailure? = { _ in nil }
    ) {
        guard let table, let found = table.match(request) else {
            choice.failure = ProxyFailure(.noRoute, "no route for host '\(request.host)' path '\(request.path)'")
            return
        }
        let rule = found.rule
        rule.markUsed()
        choice.match = found
        if let refusal = admit(rule) {
            choice.failure = refusal
            return
        }
        guard let picked = rule.split.pick(using: &random) else {
            choice.failure = ProxyFailure(.noEndpoints, "route \(rule.label) has no backend with a weight above 0")
            return
        }
        var backend = rule.backends[picked]
        choice.backend = backend
        if let refusal = refuse(snapshot.services[backend]) {
            choice.service = snapshot.services[backend]
            choice.failure = refusal
            return
        }
        let instant = Instant(nanoseconds: now)
        var index = pickEndpoint(service: backend, hash: Self.hashKey(for: snapshot.services[backend], request: request), now: instant, allowPanic: false)
        if index == nil, destinations[backend].hasExclusions {
            // Every endpoint is ejected or failing its health check: the rule's failover
            // service takes the share while it has endpoints to give, else the backend's own
            // endpoints are tried anyway.
            let failover = rule.failover[picked]
            if failover >= 0, failover < snapshot.services.count, refuse(snapshot.services[failover]) == nil,
               let fallback = pickEndpoint(service: failover, hash: Self.hashKey(for: snapshot.services[failover], request: request), now: instant, allowPanic: false) {
                backend = failover
                choice.backend = backend
                choice.failedOver = true
                index = fallback
            } else {
                index = destinations[backend].pickAny(now: instant, hash: Self.hashKey(for: snapshot.services[backend], request: request), random: &random)
            }
        }
        let service = snapshot.services[backend]
        guard let index, index < service.endpoints.count else {
            choice.failure = if service.endpoints.isEmpty, let dnsError = service.unresolved.first {
                ProxyFailure(.dnsFailed, "service '\(service.name)': \(dnsError)")
            } else if service.endpoints.isEmpty {
                ProxyFailure(.noEndpoints, "service '\(service.name)' has no endpoints")
            } else {
                ProxyFailure(.noEndpoints, "service '\(service.name)' has no endpoint available")
            }
            choice.service = service
            return
        }
        choice.endpoint = service.endpoints[index]
        choice.service = service
        choice.ticket = destinations[backend].balancer.requestStarted(index, now: instant)
    }

    /// The ring-hash key of a request: the configured header or cookie, hashed stably.
    static func hashKey(for service: ResolvedService, request: some RouteRequest) -> UInt64? {
        switch service.spec.loadBalancer.hashKey {
        case .header(let name)?:
            return request.headerValues(name).first.map { StableHash.hash64(String($0)) }
        case .cookie(let name)?:
            return request.cookie(name).map { StableHash.hash64(String($0)) }
        case nil:
            return nil
        }
    }
}
