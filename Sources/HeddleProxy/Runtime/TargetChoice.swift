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
}

extension LoopContext {
    /// Routes and balances one request on this loop's state. `refuse` may turn a chosen
    /// service down before an endpoint is picked (an upgrade that cannot cross it, say).
    func chooseTarget(
        for request: some RouteRequest, listener: String, snapshot: ProxySnapshot, now: UInt64,
        refuse: (ResolvedService) -> ProxyFailure? = { _ in nil }
    ) -> TargetChoice {
        var choice = TargetChoice()
        guard let table = snapshot.routeTables[listener], let found = table.match(request) else {
            choice.failure = ProxyFailure(.noRoute, "no route for host '\(request.host)' path '\(request.path)'")
            return choice
        }
        choice.match = found
        guard let picked = found.rule.split.pick(using: &random) else {
            choice.failure = ProxyFailure(.noEndpoints, "route \(found.rule.label) has no backend with a weight above 0")
            return choice
        }
        let backend = found.rule.backends[picked]
        let service = snapshot.services[backend]
        choice.backend = backend
        choice.service = service
        if let refusal = refuse(service) {
            choice.failure = refusal
            return choice
        }
        let instant = Instant(nanoseconds: now)
        guard let index = balancers[backend].pick(now: instant, hash: Self.hashKey(for: service, request: request), using: &random),
              index < service.endpoints.count
        else {
            choice.failure = if service.endpoints.isEmpty, let dnsError = service.unresolved.first {
                ProxyFailure(.dnsFailed, "service '\(service.name)': \(dnsError)")
            } else if service.endpoints.isEmpty {
                ProxyFailure(.noEndpoints, "service '\(service.name)' has no endpoints")
            } else {
                ProxyFailure(.noEndpoints, "service '\(service.name)' has no endpoint available")
            }
            return choice
        }
        choice.endpoint = service.endpoints[index]
        choice.ticket = balancers[backend].requestStarted(index, now: instant)
        return choice
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
