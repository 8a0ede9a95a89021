/// Who may call a service: an `AuthorizationPolicy` resource, enforced by the sidecars of
/// `targetService` on their inbound listener.
///
/// As Istio decides: a request is denied when a `DENY` policy's rule matches it; else, when the
/// service has `ALLOW` policies, it is allowed only if one of their rules matches; a service
/// without `ALLOW` policies allows what no `DENY` rule matches.
public struct AuthorizationPolicySpec: Hashable, Sendable, Codable {
    public enum Action: String, CaseIterable, Sendable, Codable {
        case allow = "ALLOW"
        case deny = "DENY"
    }

    /// The destination service whose inbound traffic the policy decides.
    public var targetService: String
    public var action: Action
    /// A request matches the policy when it matches any rule. No rules match nothing.
    public var rules: [AuthorizationRule]

    public init(targetService: String, action: Action = .allow, rules: [AuthorizationRule]) {
        self.targetService = targetService
        self.action = action
        self.rules = rules
    }
}

/// One rule: every field given must match (a list matches when any of its values does); a rule
/// with no field matches every request.
public struct AuthorizationRule: Hashable, Sendable, Codable {
    /// Callers by workload identity (`spiffe://…`): exact, or a prefix ending in `*`. A caller
    /// without a proven identity (plaintext, on a permissive listener) matches none.
    public var identities: [String]?
    /// Callers by service name (the identity `spiffe://<this trust domain>/service/<name>`).
    public var services: [String]?
    /// Request paths (without the query): exact, `prefix*`, `*suffix` or `*`.
    public var paths: [String]?
    /// Request methods, exact (`GET`, `POST`, ...).
    public var methods: [String]?
    /// The inbound port the caller connected to.
    public var ports: [Int]?

    public init(identities: [String]? = nil, services: [String]? = nil, paths: [String]? = nil, methods: [String]? = nil, ports: [Int]? = nil) {
        self.identities = identities
        self.services = services
        self.paths = paths
        self.methods = methods
        self.ports = ports
    }

    /// Whether the rule looks at HTTP (paths or methods), which a TCP connection does not have.
    public var usesHTTPFields: Bool { paths != nil || methods != nil }
}
