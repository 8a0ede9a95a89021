extension RuleResilience {
    /// The mirror services (indices) that get a copy of one request: each of the rule's mirrors
    /// draws on its own share, as Envoy's `request_mirror_policies` do. One draw per mirror
    /// below 100 %; none, and no allocation, for a rule without mirrors.
    public func drawMirrors<R: RandomNumberGenerator>(using rng: inout R) -> [Int] {
        guard !mirrors.isEmpty else { return [] }
        var chosen: [Int] = []
        for mirror in mirrors {
            let partsPerMillion = FaultInjector.partsPerMillion(mirror.percent)
            let copied = switch partsPerMillion {
            case 0: false
            case 1_000_000...: true
            default: rng.uniform(below: 1_000_000) < partsPerMillion
            }
            if copied { chosen.append(mirror.service) }
        }
        return chosen
    }
}
