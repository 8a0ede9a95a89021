import HeddleCore

/// A route rule ready for the hot path: its backends as indices into the snapshot's service
/// list, the weighted split among them, and its filters, pre-sorted by kind.
public struct CompiledRule: Sendable {
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

    /// A stable label for metrics and logs: `route#rule-index`.
    public var label: String {
        "\(routeName)#\(ruleIndex)"
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
            guard let prefix = matchedPrefix else { return nil }
            let prefixWithoutSlash = prefix.hasSuffix("/") && prefix.count > 1 ? String(prefix.dropLast()) : prefix
            let rest = path.dropFirst(prefixWithoutSlash == "/" ? 0 : prefixWithoutSlash.count)
            if replacement == "/" || replacement.hasSuffix("/") {
                let base = replacement.hasSuffix("/") ? String(replacement.dropLast()) : replacement
                let tail = rest.hasPrefix("/") ? rest : "/" + rest
                return base + tail
            }
            return rest.isEmpty || rest == "/" ? replacement : replacement + (rest.hasPrefix("/") ? rest : "/" + rest)
        case nil:
            return nil
        }
    }
}
