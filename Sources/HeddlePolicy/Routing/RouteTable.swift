import HeddleCore

/// The routes of one listener, compiled for lookup: hostnames first (exact, then the longest
/// wildcard, then routes for any host), then the most specific match among that host's rules.
/// A service is also reachable by its own name as the host (an implicit route), used when no
/// explicit rule for that host matches. A class: the request path takes it from the snapshot
/// by reference, not field by field.
public final class RouteTable: @unchecked Sendable {
    /// Service names; backends refer to them by index.
    public let serviceNames: [String]
    public let rules: [CompiledRule]
    /// Exact hostnames: their explicit matches, and the implicit route of the service of that
    /// name, found with one lookup.
    private let exactHosts: [String: HostEntry]
    /// Wildcard suffixes (`.example.com` for `*.example.com`), longest first.
    private let wildcardHosts: [(suffix: String, matches: [CompiledMatch])]
    private let anyHost: [CompiledMatch]

    private struct HostEntry {
        var matches: [CompiledMatch] = []
        /// The implicit route's rule index, used when no explicit rule matches.
        var implicitRule: Int?
    }

    /// Compiles the routes of `config` attached to `listener` (routes without parentRefs attach
    /// to every routing listener).
    public init(config: MeshConfig, listener: String) {
        let names = config.services.keys.sorted()
        let serviceIndex = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        serviceNames = names
        var rules: [CompiledRule] = []
        var exact: [String: [CompiledMatch]] = [:]
        var wildcard: [String: [CompiledMatch]] = [:]
        var any: [CompiledMatch] = []
        for route in config.routes where route.spec.parentRefs.isEmpty || route.spec.parentRefs.contains(listener) {
            for (index, rule) in route.spec.rules.enumerated() {
                let ruleIndex = rules.count
                rules.append(Self.compile(rule, id: ruleIndex, index: index, routeName: route.name, serviceIndex: serviceIndex))
                let matches = rule.matches.isEmpty ? [HTTPRouteMatch()] : rule.matches
                let compiled = matches.map { CompiledMatch($0, ruleIndex: ruleIndex) }
                if route.spec.hostnames.isEmpty { any += compiled }
                for host in route.spec.hostnames {
                    if host.hasPrefix("*.") {
                        wildcard[String(host.dropFirst()), default: []] += compiled
                    } else {
                        exact[host, default: []] += compiled
                    }
                }
            }
        }
        var implicit: [String: Int] = [:]
        for (index, name) in names.enumerated() where config.services[name]?.protocol != .tcp {
            implicit[name] = rules.count
            rules.append(CompiledRule(id: rules.count, routeName: name, ruleIndex: 0, backends: [index], split: WeightedSplit(weights: [1]), requestHeaders: nil, responseHeaders: nil, rewrite: nil))
        }
        self.rules = rules
        var hosts = exact.mapValues { HostEntry(matches: Self.sorted($0)) }
        for (name, rule) in implicit {
            hosts[name, default: HostEntry()].implicitRule = rule
        }
        exactHosts = hosts
        wildcardHosts = wildcard.map { ($0.key, Self.sorted($0.value)) }.sorted { $0.suffix.count > $1.suffix.count }
        anyHost = Self.sorted(any)
    }

    /// A table that sends every request to one service: the inbound listener's local app.
    public init(everythingTo serviceIndex: Int, serviceNames: [String], routeName: String, resilience: RuleResilience = RuleResilience()) {
        self.serviceNames = serviceNames
        rules = [CompiledRule(id: 0, routeName: routeName, ruleIndex: 0, backends: [serviceIndex], split: WeightedSplit(weights: [1]), requestHeaders: nil, responseHeaders: nil, rewrite: nil, resilience: resilience)]
        exactHosts = [:]
        wildcardHosts = []
        anyHost = [CompiledMatch(HTTPRouteMatch(), ruleIndex: 0)]
    }

    /// The rule for a request, or nil when nothing matches (answered 404 `no-route`).
    public func match(_ request: some RouteRequest) -> RouteMatch? {
        let host = request.host
        let entry = exactHosts[String(host)]
        if let entry, let found = firstMatch(entry.matches, request) { return found }
        for (suffix, candidates) in wildcardHosts where Self.hostHasWildcardSuffix(host, suffix) {
            if let found = firstMatch(candidates, request) { return found }
        }
        if let found = firstMatch(anyHost, request) { return found }
        if let index = entry?.implicitRule { return RouteMatch(rule: rules[index], matchedPrefix: nil) }
        return nil
    }

    /// The rules a request for exactly `host` may take: those of the routes that name it and
    /// the implicit route of the service of that name (not the wildcard or host-less routes,
    /// which no one host owns).
    public func rules(forHost host: String) -> [CompiledRule] {
        guard let entry = exactHosts[host] else { return [] }
        var found = entry.matches.map { rules[$0.ruleIndex] }
        if let implicit = entry.implicitRule { found.append(rules[implicit]) }
        return found
    }

    /// Whether `host` ends with `suffix` (`.example.com` for `*.example.com`) with something
    /// before it. Compared as UTF-8 bytes: hosts and hostnames are ASCII, so this is what
    /// comparing their characters gives, without the grapheme breaking and character counting
    /// `hasSuffix` and `count` do on a `Substring`.
    static func hostHasWildcardSuffix(_ host: Substring, _ suffix: String) -> Bool {
        let host = host.utf8
        let suffix = suffix.utf8
        guard host.count > suffix.count else { return false }
        return host[host.index(host.endIndex, offsetBy: -suffix.count)...].elementsEqual(suffix)
    }

    private func firstMatch(_ candidates: [CompiledMatch], _ request: some RouteRequest) -> RouteMatch? {
        for candidate in candidates {
            let (matched, prefix) = candidate.evaluate(request)
            if matched { return RouteMatch(rule: rules[candidate.ruleIndex], matchedPrefix: prefix) }
        }
        return nil
    }

    private static func sorted(_ matches: [CompiledMatch]) -> [CompiledMatch] {
        matches.enumerated().sorted { lhs, rhs in
            if lhs.element.precedence != rhs.element.precedence { return lhs.element.precedence > rhs.element.precedence }
            return lhs.offset < rhs.offset
        }.map(\.element)
    }

    private static func compile(_ rule: HTTPRouteRule, id: Int, index: Int, routeName: String, serviceIndex: [String: Int]) -> CompiledRule {
        var requestHeaders: HeaderModifier?
        var responseHeaders: HeaderModifier?
        var rewrite: URLRewrite?
        var fault: FaultInjection?
        var rateLimit: RateLimitSpec?
        var mirrors: [(service: Int, percent: Double)] = []
        for filter in rule.filters {
            switch filter {
            case .requestHeaderModifier(let modifier): requestHeaders = Self.merge(requestHeaders, modifier)
            case .responseHeaderModifier(let modifier): responseHeaders = Self.merge(responseHeaders, modifier)
            case .urlRewrite(let value): rewrite = value
            case .requestMirror(let mirror):
                if let service = serviceIndex[mirror.backend] { mirrors.append((service, mirror.percent)) }
            case .fault(let value): fault = value
            case .rateLimit(let value): rateLimit = value
            }
        }
        let refs = rule.backendRefs.filter { serviceIndex[$0.name] != nil }
        let backends = refs.compactMap { serviceIndex[$0.name] }
        let weights = refs.map { UInt32(clamping: $0.weight) }
        let failover = refs.map { ref in ref.failover.flatMap { serviceIndex[$0] } ?? -1 }
        let resilience = RuleResilience(
            requestTimeoutNanos: rule.timeouts.request?.nanosecondsUInt64,
            perTryTimeoutNanos: rule.timeouts.backendRequest?.nanosecondsUInt64 ?? 0,
            idleTimeoutNanos: rule.timeouts.idle?.nanosecondsUInt64,
            retry: rule.retry, fault: fault, rateLimit: rateLimit, mirrors: mirrors)
        return CompiledRule(
            id: id, routeName: routeName, ruleIndex: index, backends: backends, split: WeightedSplit(weights: weights),
            requestHeaders: requestHeaders, responseHeaders: responseHeaders, rewrite: rewrite,
            failover: failover, resilience: resilience)
    }

    private static func merge(_ existing: HeaderModifier?, _ next: HeaderModifier) -> HeaderModifier {
        guard var merged = existing else { return next }
        merged.set += next.set
        merged.add += next.add
        merged.remove += next.remove
        return merged
    }
}
