/// Power of two choices, shared by `.p2cPeakEWMA` and `.leastRequest`, and the uniform random
/// choice it is built on.
extension LoadBalancer {
    /// How many uniform draws over all endpoints a random choice tries before counting the
    /// usable ones: enough when most endpoints are usable, while the count keeps the choice
    /// uniform and bounded when few are.
    private static let randomProbes = 4

    /// Of two distinct random usable endpoints, the one with the lower `cost / weight`; the
    /// only usable endpoint when there is one; nil when there is none.
    /// `cost(state, rival)`: the cost of an endpoint, knowing the other candidate.
    func pickBetterOfTwo<R: RandomNumberGenerator>(
        using rng: inout R,
        isEligible: (Int) -> Bool,
        cost: (EndpointState, EndpointState) -> Double
    ) -> Int? {
        guard let first = randomUsable(excluding: nil, using: &rng, isEligible: isEligible) else { return nil }
        guard let second = randomUsable(excluding: first, using: &rng, isEligible: isEligible) else { return first }
        let firstCost = cost(states[first], states[second]) / Double(states[first].weight)
        let secondCost = cost(states[second], states[first]) / Double(states[second].weight)
        return secondCost < firstCost ? second : first
    }

    /// A uniformly random endpoint other than `excluded` with a non-zero weight that
    /// `isEligible` accepts, or nil when there is none.
    func randomUsable<R: RandomNumberGenerator>(
        excluding excluded: Int?,
        using rng: inout R,
        isEligible: (Int) -> Bool
    ) -> Int? {
        let candidates = excluded == nil ? states.count : states.count - 1
        guard candidates > 0 else { return nil }
        for _ in 0..<Self.randomProbes {
            var index = Int(rng.uniform(below: UInt64(candidates)))
            if let excluded, index >= excluded { index += 1 }
            if isUsable(index, isEligible) { return index }
        }
        var usable = 0
        for index in states.indices where index != excluded && isUsable(index, isEligible) {
            usable += 1
        }
        guard usable > 0 else { return nil }
        var rank = Int(rng.uniform(below: UInt64(usable)))
        for index in states.indices where index != excluded && isUsable(index, isEligible) {
            if rank == 0 { return index }
            rank -= 1
        }
        return nil
    }

    private func isUsable(_ index: Int, _ isEligible: (Int) -> Bool) -> Bool {
        states[index].weight > 0 && isEligible(index)
    }
}
