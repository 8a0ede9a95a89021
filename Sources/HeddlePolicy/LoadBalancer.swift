import HeddleCore

/// Chooses an endpoint for each request with one `BalancerAlgorithm`, keeping per-endpoint
/// in-flight counts and latency estimates.
///
/// One balancer per event loop, mutated only there: picks and request bookkeeping neither lock
/// nor allocate. The clock and the random source are always arguments. Every sequence of calls
/// is safe: out-of-range indices and stale tickets are ignored.
///
/// A request is `pick`ed, then `requestStarted` on the picked index, which returns a
/// `BalancerTicket`; `requestFinished` takes the ticket back, even after an
/// `update(endpoints:)` has moved or removed the endpoint.
public struct LoadBalancer: Sendable {
    /// The algorithm, fixed for the balancer's life.
    public let algorithm: BalancerAlgorithm
    /// The endpoints picks index into, in the order given.
    public private(set) var endpoints: [BalancerEndpoint]
    /// `states[i]` belongs to `endpoints[i]`.
    var states: [EndpointState]
    /// The ring under `.ringHash`; empty otherwise.
    var ring: HashRing
    private let strategy: Strategy
    private var nextEndpointID: UInt64 = 1

    /// `algorithm` with its parameters in the form picks use.
    private enum Strategy: Sendable {
        case peakEWMA(PeakEWMA.Configuration)
        case leastRequest
        case roundRobin
        case ringHash(minimumRingSize: Int)
    }

    public init(algorithm: BalancerAlgorithm, endpoints: [BalancerEndpoint]) {
        self.algorithm = algorithm
        self.endpoints = []
        states = []
        ring = HashRing(endpoints: [], minimumSize: 1)
        switch algorithm {
        case let .p2cPeakEWMA(decay, defaultRTT):
            strategy = .peakEWMA(PeakEWMA.Configuration(decay: decay, defaultRTT: defaultRTT))
        case .leastRequest:
            strategy = .leastRequest
        case .roundRobin:
            strategy = .roundRobin
        case let .ringHash(minimumRingSize):
            strategy = .ringHash(minimumRingSize: minimumRingSize)
        }
        update(endpoints: endpoints)
    }

    /// Replaces the endpoint set. An endpoint whose key was already present keeps its identity,
    /// in-flight count and latency estimate (with duplicate keys, the first occurrence in each
    /// list is the match); a new key starts fresh. Round robin restarts its cycle and ring hash
    /// rebuilds its ring.
    public mutating func update(endpoints newEndpoints: [BalancerEndpoint]) {
        var previous: [String: Int] = [:]
        for (index, endpoint) in endpoints.enumerated() where previous[endpoint.key] == nil {
            previous[endpoint.key] = index
        }
        var newStates: [EndpointState] = []
        newStates.reserveCapacity(newEndpoints.count)
        for endpoint in newEndpoints {
            if let index = previous.removeValue(forKey: endpoint.key) {
                var state = states[index]
                state.weight = endpoint.weight
                state.roundRobinCurrent = 0
                newStates.append(state)
            } else {
                newStates.append(EndpointState(id: nextEndpointID, weight: endpoint.weight))
                nextEndpointID += 1
            }
        }
        endpoints = newEndpoints
        states = newStates
        if case let .ringHash(minimumRingSize) = strategy {
            ring = HashRing(endpoints: newEndpoints, minimumSize: minimumRingSize)
        }
    }

    /// The index of the endpoint for the next request, or nil when none is usable. Never an
    /// endpoint of weight 0, nor one `isEligible` refuses (the caller's view of health and
    /// ejection). `hash` is read only by `.ringHash`, which picks at random without it.
    public mutating func pick<R: RandomNumberGenerator>(
        now: Instant,
        hash: UInt64?,
        using rng: inout R,
        isEligible: (Int) -> Bool
    ) -> Int? {
        switch strategy {
        case let .peakEWMA(configuration):
            // An endpoint not yet answered is taken to be as fast as its rival (the default RTT
            // when neither has answered), so a new endpoint gets its share at once, decided by
            // requests in flight, instead of waiting for a default estimate to decay.
            return pickBetterOfTwo(using: &rng, isEligible: isEligible) { (state: EndpointState, rival: EndpointState) -> Double in
                Self.peakEWMACost(state, rival: rival, now: now, configuration)
            }
        case .leastRequest:
            return pickBetterOfTwo(using: &rng, isEligible: isEligible) { (state: EndpointState, _: EndpointState) -> Double in
                Double(state.inFlight + 1)
            }
        case .roundRobin:
            return pickRoundRobin(isEligible: isEligible)
        case .ringHash:
            guard let hash else { return randomUsable(excluding: nil, using: &rng, isEligible: isEligible) }
            return ring.pick(hash: hash, isEligible: isEligible)
        }
    }

    /// `pick(now:hash:using:isEligible:)` with every endpoint of non-zero weight eligible.
    public mutating func pick<R: RandomNumberGenerator>(now: Instant, hash: UInt64?, using rng: inout R) -> Int? {
        pick(now: now, hash: hash, using: &rng) { _ in true }
    }

    /// Counts a request sent to `endpoints[index]` at `now`. The ticket goes back to
    /// `requestFinished`; for an index out of range it is one that finishing ignores.
    public mutating func requestStarted(_ index: Int, now: Instant) -> BalancerTicket {
        guard states.indices.contains(index) else { return BalancerTicket(index: -1, endpointID: 0, startedAt: now) }
        states[index].inFlight += 1
        return BalancerTicket(index: index, endpointID: states[index].id, startedAt: now)
    }

    /// Ends the request `ticket` stands for, which took `latency` (under `.p2cPeakEWMA`, a
    /// sample for the endpoint's estimate). Does nothing when the endpoint has since been
    /// removed.
    public mutating func requestFinished(_ ticket: BalancerTicket, now: Instant, latency: Duration) {
        guard let index = stateIndex(for: ticket) else { return }
        if states[index].inFlight > 0 { states[index].inFlight -= 1 }
        if case let .peakEWMA(configuration) = strategy {
            states[index].latency.observe(latency, at: now, configuration)
        }
    }

    /// Where the endpoint `ticket` names is now, or nil when an update has removed it: the index
    /// under which to report the request's outcome to state kept beside the balancer in the
    /// same order, such as an `OutlierDetector`'s.
    public func index(of ticket: BalancerTicket) -> Int? {
        stateIndex(for: ticket)
    }

    /// Requests started and not yet finished on `endpoints[index]`; 0 for an index out of range.
    public func inFlight(at index: Int) -> Int {
        states.indices.contains(index) ? states[index].inFlight : 0
    }

    /// The latency estimate for `endpoints[index]` at `now` under `.p2cPeakEWMA`; nil under
    /// other algorithms or for an index out of range.
    public func latencyEstimate(at index: Int, now: Instant) -> Duration? {
        guard case let .peakEWMA(configuration) = strategy, states.indices.contains(index) else { return nil }
        let nanoseconds = states[index].latency.value(at: now, configuration)
        return .nanoseconds(Int64(nanoseconds.rounded()))
    }

    /// `latency estimate × (in flight + 1)`; an endpoint not yet answered borrows its rival's
    /// estimate.
    private static func peakEWMACost(_ state: EndpointState, rival: EndpointState, now: Instant, _ configuration: PeakEWMA.Configuration) -> Double {
        let source: PeakEWMA = state.latency.hasSample || !rival.latency.hasSample ? state.latency : rival.latency
        let estimate: Double = source.value(at: now, configuration)
        return estimate * Double(state.inFlight + 1)
    }

    private func stateIndex(for ticket: BalancerTicket) -> Int? {
        guard ticket.endpointID != 0 else { return nil }
        if states.indices.contains(ticket.index), states[ticket.index].id == ticket.endpointID {
            return ticket.index
        }
        return states.firstIndex { $0.id == ticket.endpointID }
    }
}
