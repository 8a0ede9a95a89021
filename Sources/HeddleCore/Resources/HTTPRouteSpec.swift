/// Routes for HTTP traffic, shaped like the Kubernetes Gateway API `HTTPRoute`: which
/// listeners it attaches to, which hostnames it serves, and rules of matches, filters and
/// weighted backends.
public struct HTTPRouteSpec: Hashable, Sendable, Codable {
    /// Listener names (`outbound`, or a gateway's name); empty means every routing listener.
    public var parentRefs: [String]
    /// Hostnames this route serves: exact (`api.example.com`, `api`) or a leading wildcard
    /// (`*.example.com`); empty means any host.
    public var hostnames: [String]
    public var rules: [HTTPRouteRule]

    public init(parentRefs: [String] = [], hostnames: [String] = [], rules: [HTTPRouteRule]) {
        self.parentRefs = parentRefs
        self.hostnames = hostnames
        self.rules = rules
    }
}

/// One rule: a request that satisfies any of `matches` is handled by the filters and sent to
/// one of the backends, chosen by weight, within the rule's timeouts and retry policy.
public struct HTTPRouteRule: Hashable, Sendable, Codable {
    public var name: String?
    /// Empty means every request (a `PathPrefix /` match).
    public var matches: [HTTPRouteMatch]
    public var filters: [HTTPRouteFilter]
    public var backendRefs: [BackendRef]
    public var timeouts: RouteTimeoutsSpec
    public var retry: RetryPolicySpec

    public init(
        name: String? = nil,
        matches: [HTTPRouteMatch] = [],
        filters: [HTTPRouteFilter] = [],
        backendRefs: [BackendRef],
        timeouts: RouteTimeoutsSpec = RouteTimeoutsSpec(),
        retry: RetryPolicySpec = RetryPolicySpec()
    ) {
        self.name = name
        self.matches = matches
        self.filters = filters
        self.backendRefs = backendRefs
        self.timeouts = timeouts
        self.retry = retry
    }
}

/// Conditions that must all hold for a request to match.
public struct HTTPRouteMatch: Hashable, Sendable, Codable {
    public var path: PathMatch
    public var method: String?
    public var headers: [ValueMatch]
    public var queryParams: [ValueMatch]

    public init(path: PathMatch = PathMatch(kind: .prefix, value: "/"), method: String? = nil, headers: [ValueMatch] = [], queryParams: [ValueMatch] = []) {
        self.path = path
        self.method = method
        self.headers = headers
        self.queryParams = queryParams
    }
}

/// A match on the request path.
public struct PathMatch: Hashable, Sendable, Codable {
    public enum Kind: String, CaseIterable, Sendable, Codable {
        case exact = "Exact"
        /// Matches whole path segments: `/api` matches `/api` and `/api/x`, not `/apix`.
        case prefix = "PathPrefix"
        case regularExpression = "RegularExpression"
    }

    public var kind: Kind
    public var value: String

    public init(kind: Kind, value: String) {
        self.kind = kind
        self.value = value
    }
}

/// A match on a header or a query parameter's value.
public struct ValueMatch: Hashable, Sendable, Codable {
    public enum Kind: String, CaseIterable, Sendable, Codable {
        case exact = "Exact"
        case regularExpression = "RegularExpression"
    }

    /// Header names are compared case-insensitively (stored lowercased); query names exactly.
    public var name: String
    public var value: String
    public var kind: Kind

    public init(name: String, value: String, kind: Kind = .exact) {
        self.name = name
        self.value = value
        self.kind = kind
    }
}

/// A change the proxy makes to a matched request or its response, or a policy it applies to
/// the request on its way.
public enum HTTPRouteFilter: Hashable, Sendable, Codable {
    case requestHeaderModifier(HeaderModifier)
    case responseHeaderModifier(HeaderModifier)
    case urlRewrite(URLRewrite)
    case requestMirror(RequestMirror)
    /// A Heddle extension (`type: Fault`).
    case fault(FaultInjection)
    /// A Heddle extension (`type: RateLimit`): a token bucket for the rule's requests.
    case rateLimit(RateLimitSpec)
}

/// Header edits, applied in the order remove, set, add (`set` replaces, `add` appends).
public struct HeaderModifier: Hashable, Sendable, Codable {
    public var set: [HeaderValue]
    public var add: [HeaderValue]
    /// Lowercased header names.
    public var remove: [String]

    public init(set: [HeaderValue] = [], add: [HeaderValue] = [], remove: [String] = []) {
        self.set = set
        self.add = add
        self.remove = remove
    }
}

/// A header name and value.
public struct HeaderValue: Hashable, Sendable, Codable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// A rewrite of the request's host or path before it is sent to the backend.
public struct URLRewrite: Hashable, Sendable, Codable {
    public enum PathRewrite: Hashable, Sendable, Codable {
        case replaceFullPath(String)
        /// Replaces the part of the path that the rule's `PathPrefix` matched.
        case replacePrefixMatch(String)
    }

    public var hostname: String?
    public var path: PathRewrite?

    public init(hostname: String? = nil, path: PathRewrite? = nil) {
        self.hostname = hostname
        self.path = path
    }
}

/// A backend of a rule: a service, its weight in the rule's split, and the service its share
/// goes to while it has no endpoint to send to.
public struct BackendRef: Hashable, Sendable, Codable {
    public var name: String
    public var weight: Int
    /// Used when every endpoint of `name` is ejected or unhealthy; nil means none.
    public var failover: String?

    public init(name: String, weight: Int = 1, failover: String? = nil) {
        self.name = name
        self.weight = weight
        self.failover = failover
    }
}
