import HeddleCore
import Synchronization

/// A route rule ready for the hot path: its backends as indices into the snapshot's service
/// list, the weighted split among them, and its filters, pre-sorted by kind. A class, so a
/// match hands it on with one reference count instead of one per field.
public final class CompiledRule: Sendable {
    /// Position in `RouteTable.rules`: a cheap key for per-rule state.
    public let id: Int
    /// `HTTPRoute` name, or the service name for a service's implicit route.
    public let routeName: String
    public let ruleIndex: Int
    /// Backend services, as indices into `RouteTable.serviceNames`.
    public let backends: [Int]
    public let split: WeightedSplit
    public let requestHeaders: HeaderModifier?
    public let responseHeaders: HeaderModifier?
    public let rewrite: URLRewrite?
    /// `failover[i]`: the service (index) that takes `backends[i]`'s share while every
    /// endpoint of it is ejected or unhealthy; -1 for none.
    public let failover: [Int]
    /// Timeouts and retries, resolved to what the hot path reads.
    public let resilience: RuleResilience

    init(
        id: Int, routeName: String, ruleIndex: Int, backends: [Int], split: WeightedSplit,
        requestHeaders: HeaderModifier?, responseHeaders: HeaderModifier?, rewrite: URLRewrite?,
        failover: [Int] = [], resilience: RuleResilience = RuleResilience()
    ) {
        self.id = id
        self.routeName = routeName
        self.ruleIndex = ruleIndex
        self.backends = backends
        self.split = split
        self.requestHeaders = requestHeaders
        self.responseHeaders = responseHeaders
        self.rewrite = rewrite
        self.failover = failover.count == backends.count ? failover : Array(repeating: -1, count: backends.count)
        self.resilience = resilience
        label = "\(routeName)#\(ruleIndex)"
    }

    /// A stable label for metrics and logs: `route#rule-index`.
    public let label: String

    /// Whether a request took this rule since `takeUse()` last looked: how on-demand discovery
    /// tells the services an app still calls from those it no longer does. The hot path reads
    /// it and writes it at most once between two looks (relaxed: a count is not needed, and a
    /// look that misses a request in flight sees it at the next).
    private let used = Atomic<Bool>(false)

    /// Records that a request took this rule.
    @inline(__always)
    public func markUsed() {
        if !used.load(ordering: .relaxed) { used.store(true, ordering: .relaxed) }
    }

    /// Whether a request took this rule since the last call, and starts over.
    public func takeUse() -> Bool {
        used.exchange(false, ordering: .relaxed)
    }
}

/// The result of a route lookup: the rule and, for prefix matches, the matched prefix (which
/// `ReplacePrefixMatch` replaces).
public struct RouteMatch: Sendable {
    public let rule: CompiledRule
    public let matchedPrefix: String?

    /// The path to send upstream after the rule's rewrite, or nil when it is unchanged.
    public func rewrittenPath(_ path: Substring) -> String? {
        switch rule.rewrite?.path {
        case .replaceFullPath(let full)?:
            return full
        case .replacePrefixMatch(let replacement)?:
            // Gateway API semantics: the matched prefix (without a trailing slash) is replaced,
            // and the rest of the path, slash included, is kept: with prefix /foo and
            // replacement /xyz, /foo/bar → /xyz/bar, /foo → /xyz, /foo/ → /xyz/.
            // Counted in UTF-8 bytes, as `CompiledMatch.pathHasPrefix` matched the prefix.
            guard let prefix = matchedPrefix else { return nil }
            let slash = UInt8(ascii: "/")
            let trimmedCount = prefix.utf8.last == slash ? prefix.utf8.count - 1 : prefix.utf8.count
            let rest = path[path.utf8.index(path.startIndex, offsetBy: min(trimmedCount, path.utf8.count))...]
            let base = replacement.utf8.last == slash ? replacement.dropLast() : Substring(replacement)
            let result = String(base) + rest
            return result.isEmpty ? "/" : (result.utf8.first == slash ? result : "/" + result)
        case nil:
            return nil
        }
    }
}
