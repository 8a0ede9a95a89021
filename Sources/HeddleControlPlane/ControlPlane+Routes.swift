import HeddleAPI
import HeddleCore

extension ControlPlane {
    /// Every HTTPRoute, summarised for the dashboard (`GET /v1/routes`), by name.
    public func routes() -> [RouteSummary] {
        resources.filter { $0.key.kind == .httpRoute }.sorted { $0.key < $1.key }.compactMap { key, entry in
            guard case .httpRoute(_, let spec)? = entry.resource else {
                return RouteSummary(name: key.name, state: "refused", parents: [], hostnames: [], rules: [])
            }
            let state = statuses[key]?.state == .accepted ? "accepted" : "refused"
            let rules = spec.rules.enumerated().map { index, rule in
                RouteSummary.Rule(
                    label: "\(key.name)#\(index)", matches: rule.matches.map(Self.describe), filters: rule.filters.map(Self.describe),
                    backends: rule.backendRefs.map { RouteSummary.Backend(service: $0.name, weight: $0.weight, failover: $0.failover) })
            }
            return RouteSummary(name: key.name, state: state, parents: spec.parentRefs, hostnames: spec.hostnames, rules: rules)
        }
    }

    private static func describe(_ match: HTTPRouteMatch) -> String {
        var parts = ["\(match.path.kind.rawValue) \(match.path.value)"]
        if let method = match.method { parts.append("method \(method)") }
        parts += match.headers.map { "header \($0.name)\($0.kind == .exact ? "=" : "~")\($0.value)" }
        parts += match.queryParams.map { "query \($0.name)\($0.kind == .exact ? "=" : "~")\($0.value)" }
        return parts.joined(separator: ", ")
    }

    private static func describe(_ filter: HTTPRouteFilter) -> String {
        switch filter {
        case .requestHeaderModifier: "requestHeaderModifier"
        case .responseHeaderModifier: "responseHeaderModifier"
        case .urlRewrite: "urlRewrite"
        case .requestMirror(let mirror): "requestMirror \(mirror.backend) \(mirror.percent) %"
        case .fault: "fault"
        case .rateLimit: "rateLimit"
        }
    }
}
