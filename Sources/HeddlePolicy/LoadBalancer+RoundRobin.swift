/// Smooth weighted round robin, as nginx does it: every usable endpoint's current weight grows
/// by its weight, the largest wins and gives back the sum of the weights. Over a cycle each
/// endpoint wins in proportion to its weight, with its turns spread out (3:1 gives a a b a).
extension LoadBalancer {
    mutating func pickRoundRobin(isEligible: (Int) -> Bool) -> Int? {
        var best = -1
        var totalWeight: Int64 = 0
        for index in states.indices where states[index].weight > 0 && isEligible(index) {
            let weight = Int64(states[index].weight)
            states[index].roundRobinCurrent += weight
            totalWeight += weight
            if best < 0 || states[index].roundRobinCurrent > states[best].roundRobinCurrent {
                best = index
            }
        }
        guard best >= 0 else { return nil }
        states[best].roundRobinCurrent -= totalWeight
        return best
    }
}
