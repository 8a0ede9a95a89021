import HeddleCore

/// What an authorization decision looks at: who called (the identity the caller proved, nil
/// for a plaintext caller), and for HTTP the method and path (nil for a TCP connection), and
/// the inbound port.
public struct AuthorizationRequest: Sendable {
    public var identity: String?
    public var method: Substring?
    public var path: Substring?
    public var port: Int

    public init(identity: String?, method: Substring?, path: Substring?, port: Int) {
        self.identity = identity
        self.method = method
        self.path = path
        self.port = port
    }
}

/// The verdict, naming what decided it.
public enum AuthorizationDecision: Equatable, Sendable {
    /// Allowed by the named `ALLOW` policy, or (nil) because no policy denies it and the service
    /// has no `ALLOW` policy.
    case allowed(by: String?)
    /// Denied by the named policy (`DENY`), or because the service has `ALLOW` policies and
    /// none matched (`policy` is then `default-deny`); `reason` says which in words.
    case denied(policy: String, reason: String)

    public var isAllowed: Bool {
        if case .allowed = self { return true }
        return false
    }
}

/// The `AuthorizationPolicy` resources of one destination service, compiled for the inbound
/// listener: a pure value, decided per request without allocation on the allow path.
///
/// Semantics (Istio's): a `DENY` rule that matches denies; else, with `ALLOW` policies, a
/// request is allowed only when one of their rules matches; with none, it is allowed. For a
/// TCP connection (no method, no path) an `ALLOW` rule that looks at paths or methods does not
/// match, and a `DENY` rule's paths and methods are ignored (so it denies more, never less).
public struct AuthorizationTable: Sendable {
    /// The label of a denial by no matching `ALLOW` policy.
    public static let defaultDeny = "default-deny"

    struct Policy: Sendable {
        let name: String
        let rules: [AuthorizationRule]
    }

    let service: String
    let denies: [Policy]
    let allows: [Policy]

    /// `policies`: those whose target is `service` (others are ignored).
    public init(service: String, policies: [MeshConfig.NamedAuthorizationPolicy]) {
        self.service = service
        let mine = policies.filter { $0.spec.targetService == service }.sorted { $0.name < $1.name }
        denies = mine.filter { $0.spec.action == .deny }.map { Policy(name: $0.name, rules: $0.spec.rules) }
        allows = mine.filter { $0.spec.action == .allow }.map { Policy(name: $0.name, rules: $0.spec.rules) }
    }

    /// No policy: every request is allowed.
    public var isEmpty: Bool { denies.isEmpty && allows.isEmpty }

    public func decide(_ request: AuthorizationRequest) -> AuthorizationDecision {
        for policy in denies {
            if let index = policy.rules.firstIndex(where: { Self.matches($0, request, forDeny: true) }) {
                return .denied(policy: policy.name, reason: "denied by AuthorizationPolicy \(policy.name) (rule \(index)) for \(caller(request))")
            }
        }
        guard !allows.isEmpty else { return .allowed(by: nil) }
        for policy in allows where policy.rules.contains(where: { Self.matches($0, request, forDeny: false) }) {
            return .allowed(by: policy.name)
        }
        return .denied(
            policy: Self.defaultDeny,
            reason: "no ALLOW policy of service \(service) (\(allows.map(\.name).joined(separator: ", "))) allows \(caller(request))")
    }

    private func caller(_ request: AuthorizationRequest) -> String {
        var text = request.identity ?? "an unauthenticated caller"
        if let method = request.method, let path = request.path { text += " \(method) \(path)" }
        return text
    }

    static func matches(_ rule: AuthorizationRule, _ request: AuthorizationRequest, forDeny: Bool) -> Bool {
        if let identities = rule.identities {
            guard let identity = request.identity, identities.contains(where: { pattern($0, matches: Substring(identity)) }) else { return false }
        }
        if let services = rule.services {
            guard let identity = request.identity, let service = serviceName(of: identity), services.contains(where: { $0 == service }) else { return false }
        }
        if let ports = rule.ports, !ports.contains(request.port) { return false }
        if let methods = rule.methods {
            if let method = request.method {
                if !methods.contains(where: { $0 == method }) { return false }
            } else if !forDeny {
                return false
            }
        }
        if let paths = rule.paths {
            if let path = request.path {
                if !paths.contains(where: { pattern($0, matches: path) }) { return false }
            } else if !forDeny {
                return false
            }
        }
        return true
    }

    /// `*` any, `prefix*`, `*suffix`, else exact.
    static func pattern(_ pattern: String, matches value: Substring) -> Bool {
        if pattern == "*" { return true }
        if pattern.hasSuffix("*") { return value.hasPrefix(pattern.dropLast()) }
        if pattern.hasPrefix("*") { return value.hasSuffix(pattern.dropFirst()) }
        return value == pattern
    }

    /// The service of `spiffe://<domain>/service/<name>`.
    static func serviceName(of identity: String) -> Substring? {
        guard let slash = identity.lastIndex(of: "/") else { return nil }
        let before = identity[..<slash]
        guard before.hasSuffix("/service") else { return nil }
        return identity[identity.index(after: slash)...]
    }
}
