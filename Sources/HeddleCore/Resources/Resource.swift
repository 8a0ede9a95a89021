/// One configuration resource, as read from YAML.
public enum Resource: Hashable, Sendable {
    case proxy(ResourceMetadata, ProxySpec)
    case service(ResourceMetadata, ServiceSpec)
    case httpRoute(ResourceMetadata, HTTPRouteSpec)
    case authorizationPolicy(ResourceMetadata, AuthorizationPolicySpec)

    public var kind: ResourceKind {
        switch self {
        case .proxy: .proxy
        case .service: .service
        case .httpRoute: .httpRoute
        case .authorizationPolicy: .authorizationPolicy
        }
    }

    public var metadata: ResourceMetadata {
        switch self {
        case .proxy(let metadata, _), .service(let metadata, _), .httpRoute(let metadata, _), .authorizationPolicy(let metadata, _): metadata
        }
    }

    /// `Kind/name`, as used in messages.
    public var reference: String { "\(kind.rawValue)/\(metadata.name)" }
}
