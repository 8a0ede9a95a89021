import HeddleCore
import HeddlePolicy

/// Where a request goes, chosen in the mesh's three stages — the route rule, a backend service
/// by the rule's weights, an endpoint by the service's balancer — and why not, when a stage
/// finds nothing. What was chosen before a failure stays set, so the failure is counted
/// against its route and backend.
struct TargetChoice {
    var match: RouteMatch?
    /// Index in the snapshot's services; -1 until a backend is chosen.
    var backend: Int
    var service: ResolvedService?
    var endpoint: ResolvedEndpoint?
    var ticket: BalancerTicket?
    /// Why no target was chosen. Boxed: a choice is returned (and copied) per request, and a
    /// failure is several times the size of the rest.
    var failure: ProxyFailure? {
        get { failureBox?.failure }
        set { failureBox = newValue.map(FailureBox.init) }
    }
    private var failureBox: FailureBox?
    /// The backend's endpoints were all out, and the rule's failover service took the request.
    var failedOver: Bool

    init(
        match: RouteMatch? = nil, backend: Int = -1, service: ResolvedService? = nil, endpoint: ResolvedEndpoint? = nil,
        ticket: BalancerTicket? = nil, failure: ProxyFailure? = nil, failedOver: Bool = false
    ) {
        self.match = match
        self.backend = backend
        self.service = service
        self.endpoint = endpoint
        self.ticket = ticket
        failureBox = failure.map(FailureBox.init)
        self.failedOver = failedOver
    }

    private final class FailureBox {
        let failure: ProxyFailure
        init(_ failure: ProxyFailure) { self.failure = failure }
    }
}

extension LoopContext {
    /// Routes and balances one request on this loop's state, by `table` (the listener's routes
    /// in `snapshot`). `admit` may turn the request down once its rule is known (a rate
    /// limit); `refuse` may turn a chosen service down before an endpoint is picked (an upgrade
    /// that cannot cross it, say).
    func chooseTarget(
        for request: some RouteRequest, table: RouteTable?, snapshot: ProxySnapshot, now: UInt64,
        admit: (CompiledRule) -> ProxyFailure? = { _ in nil },
        refuse: (ResolvedService) -> ProxyFailure? = { _ in nil }
    ) -> TargetChoice {
        // Each outcome is built once, where it is returned: a choice filled in field by field
        // was copied on the way out, a reference count per field.
        guard let table, let found = table.match(request) else {
            return TargetChoice(failure: ProxyFailure(.noRoute, "no route for host '\(request.host)' path '\(request.path)'"))
        }
        if let refusal = admit(found.rule) {
            return TargetChoice(match: found, failure: refusal)
        }
        guard let picked = found.rule.split.pick(using: &random) else {
            return TargetChoice(match: found, failure: ProxyFailure(.noEndpoints, "route \(found.rule.label) has no backend with a weight above 0"))
        }
        var backend = found.rule.backends[picked]
        if let refusal = refuse(snapshot.services[backend]) {
            return TargetChoice(match: found, backend: backend, service: snapshot.services[backend], failure: refusal)
        }
        let instant = Instant(nanoseconds: now)
        var failedOver = false
        var index = pickEndpoint(service: backend, hash: Self.hashKey(for: snapshot.services[backend], request: request), now: instant, allowPanic: false)
        if index == nil, destinations[backend].hasExclusions {
            // Every endpoint is ejected or failing its health check: the rule's failover
            // service takes the share while it has endpoints to give, else the backend's own
            // endpoints are tried anyway.
            let failover = found.rule.failover[picked]
            if failover >= 0, failover < snapshot.services.count, refuse(snapshot.services[failover]) == nil,
               let fallback = pickEndpoint(service: failover, hash: Self.hashKey(for: snapshot.services[failover], request: request), now: instant, allowPanic: false) {
                backend = failover
                failedOver = true
                index = fallback
            } else {
                index = destinations[backend].pickAny(now: instant, hash: Self.hashKey(for: snapshot.services[backend], request: request), random: &random)
            }
        }
        let service = snapshot.services[backend]
        guard let index, index < service.endpoints.count else {
            let failure = if service.endpoints.isEmpty, let dnsError = service.unresolved.first {
                ProxyFailure(.dnsFailed, "service '\(service.name)': \(dnsError)")
            } else if service.endpoints.isEmpty {
                ProxyFailure(.noEndpoints, "service '\(service.name)' has no endpoints")
            } else {
                ProxyFailure(.noEndpoints, "service '\(service.name)' has no endpoint available")
            }
            return TargetChoice(match: found, backend: backend, service: service, failure: failure, failedOver: failedOver)
        }
        return TargetChoice(
            match: found, backend: backend, service: service, endpoint: service.endpoints[index],
            ticket: destinations[backend].balancer.requestStarted(index, now: instant), failedOver: failedOver)
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
