/// The API version of Heddle's own resource kinds.
public let heddleAPIVersion = "heddle.dev/v1alpha1"

/// The API version of the Kubernetes Gateway API, accepted for `HTTPRoute` so its users can
/// bring their routes as they are.
public let gatewayAPIVersion = "gateway.networking.k8s.io/v1"

/// The kinds of resource Heddle reads.
public enum ResourceKind: String, CaseIterable, Sendable, Codable {
    case proxy = "Proxy"
    case service = "Service"
    case httpRoute = "HTTPRoute"
    case authorizationPolicy = "AuthorizationPolicy"
}

/// A resource's name and labels, as in Kubernetes' `metadata`.
public struct ResourceMetadata: Hashable, Sendable, Codable {
    public var name: String
    public var labels: [String: String]

    public init(name: String, labels: [String: String] = [:]) {
        self.name = name
        self.labels = labels
    }

    /// True for a DNS-label-like name: lowercase letters, digits and `-`, starting with a letter
    /// or digit, at most 63 characters. Service and route names must be of this shape.
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.count <= 63 else { return false }
        let allowed: (Unicode.Scalar) -> Bool = { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
        return allowed(first) && first != "-" && name.unicodeScalars.allSatisfy(allowed) && !name.hasSuffix("-")
    }
}
