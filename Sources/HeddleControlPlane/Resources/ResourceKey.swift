import HeddleCore

/// A stored resource's identity: its kind and name.
struct ResourceKey: Hashable, Comparable, Sendable {
    var kind: ResourceKind
    var name: String

    /// `Kind/name`, as messages and field errors name resources.
    var reference: String { "\(kind.rawValue)/\(name)" }

    static func < (lhs: ResourceKey, rhs: ResourceKey) -> Bool {
        (lhs.kind.rawValue, lhs.name) < (rhs.kind.rawValue, rhs.name)
    }
}

extension ResourceKey {
    /// The kinds the control plane stores: proxies are configured by their own file and flags.
    static let storedKinds: [ResourceKind] = [.service, .httpRoute, .authorizationPolicy]

    /// Reads a kind named in a request (`Service`, `service`, `HTTPRoute`, `httproute`).
    static func kind(_ text: String) throws(ControlPlaneError) -> ResourceKind {
        let stored = storedKinds.map(\.rawValue).joined(separator: ", ")
        guard let kind = ResourceKind.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else {
            throw ControlPlaneError(.invalid, "unknown kind '\(text)' (the control plane keeps \(stored))")
        }
        guard storedKinds.contains(kind) else {
            throw ControlPlaneError(.invalid, "the control plane does not keep \(kind.rawValue) resources (only \(stored)): \(ResourceKey.proxyRefusal)")
        }
        return kind
    }

    /// Why a `Proxy` document is refused.
    static let proxyRefusal = "a proxy is configured by its own file and flags"
}
