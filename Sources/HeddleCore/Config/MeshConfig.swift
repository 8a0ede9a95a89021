/// A whole, validated configuration: the proxy's settings, the services it can reach and the
/// routes to them. Built once per load or reload and then only read (an immutable snapshot).
public struct MeshConfig: Sendable, Encodable {
    public var proxy: ProxySpec
    /// Services by name.
    public var services: [String: ServiceSpec]
    /// Routes in the order they were given; precedence among their rules is decided by the
    /// route table, not by this order.
    public var routes: [NamedRoute]
    /// Every `AuthorizationPolicy`; the inbound listener applies those whose target is its
    /// service.
    public var authorizationPolicies: [NamedAuthorizationPolicy]

    /// An `AuthorizationPolicy` with its name.
    public struct NamedAuthorizationPolicy: Hashable, Sendable, Encodable {
        public var name: String
        public var spec: AuthorizationPolicySpec

        public init(name: String, spec: AuthorizationPolicySpec) {
            self.name = name
            self.spec = spec
        }
    }

    /// An `HTTPRoute` with its name.
    public struct NamedRoute: Hashable, Sendable, Encodable {
        public var name: String
        public var spec: HTTPRouteSpec
    }

    public init(proxy: ProxySpec = ProxySpec(), services: [String: ServiceSpec] = [:], routes: [NamedRoute] = [], authorizationPolicies: [NamedAuthorizationPolicy] = []) {
        self.proxy = proxy
        self.services = services
        self.routes = routes
        self.authorizationPolicies = authorizationPolicies
    }

    /// The policies that decide the inbound listener's requests: those whose target is the
    /// inbound listener's service, in name order.
    public var inboundAuthorizationPolicies: [NamedAuthorizationPolicy] {
        guard let service = proxy.inbound?.service else { return [] }
        return authorizationPolicies.filter { $0.spec.targetService == service }.sorted { $0.name < $1.name }
    }

    /// Parses and validates YAML; throws every problem found, so nothing half-valid is used.
    public static func load(yaml: String) throws(ConfigErrors) -> MeshConfig {
        try build(from: ResourceDecoder.decode(yaml: yaml))
    }

    /// Assembles resources and checks what no single resource can: names used once, backends,
    /// failover and mirror services and TCP services that exist, parent listeners that exist,
    /// per-try timeouts within the request timeout.
    public static func build(from resources: [Resource]) throws(ConfigErrors) -> MeshConfig {
        var config = MeshConfig()
        var errors: [ConfigError] = []
        var seen: Set<String> = []
        var proxyCount = 0
        for resource in resources {
            guard seen.insert(resource.reference).inserted else {
                errors.append(ConfigError(resource: resource.reference, path: "metadata.name", reason: "\(resource.reference) is defined twice"))
                continue
            }
            switch resource {
            case .proxy(_, let spec):
                proxyCount += 1
                if proxyCount > 1 {
                    errors.append(ConfigError(resource: resource.reference, path: "kind", reason: "only one Proxy resource may be given"))
                }
                config.proxy = spec
            case .service(let metadata, let spec):
                config.services[metadata.name] = spec
            case .httpRoute(let metadata, let spec):
                config.routes.append(NamedRoute(name: metadata.name, spec: spec))
            case .authorizationPolicy(let metadata, let spec):
                config.authorizationPolicies.append(NamedAuthorizationPolicy(name: metadata.name, spec: spec))
            }
        }
        let listenerNames = Set(config.proxy.routingListeners.map(\.name))
        for route in config.routes {
            let reference = "HTTPRoute/\(route.name)"
            for (index, parent) in route.spec.parentRefs.enumerated() where !listenerNames.contains(parent) {
                errors.append(ConfigError(resource: reference, path: "spec.parentRefs[\(index)].name", reason: "no listener is named '\(parent)' (listeners: \(listenerNames.sorted().joined(separator: ", ")))"))
            }
            /// `name` must be a service that speaks HTTP, to be used as the rule's `role`.
            func checkHTTPService(_ name: String, as role: String, at path: String) {
                guard let service = config.services[name] else {
                    errors.append(ConfigError(resource: reference, path: path, reason: "service '\(name)' is not defined"))
                    return
                }
                if service.protocol == .tcp {
                    errors.append(ConfigError(resource: reference, path: path, reason: "service '\(name)' speaks tcp and cannot be an HTTP route's \(role)"))
                }
            }
            for (ruleIndex, rule) in route.spec.rules.enumerated() {
                let rulePath = "spec.rules[\(ruleIndex)]"
                for (refIndex, backend) in rule.backendRefs.enumerated() {
                    checkHTTPService(backend.name, as: "backend", at: "\(rulePath).backendRefs[\(refIndex)].name")
                    if let failover = backend.failover {
                        checkHTTPService(failover, as: "failover", at: "\(rulePath).backendRefs[\(refIndex)].failover")
                    }
                }
                for (filterIndex, filter) in rule.filters.enumerated() {
                    guard case .requestMirror(let mirror) = filter else { continue }
                    checkHTTPService(mirror.backend, as: "mirror", at: "\(rulePath).filters[\(filterIndex)].requestMirror.backendRef.name")
                }
                // With its own `request` timeout the rule was checked as it was read.
                let requestTimeout = config.proxy.http.requestTimeout
                if rule.timeouts.request == nil, let backendRequest = rule.timeouts.backendRequest, backendRequest > requestTimeout {
                    errors.append(ConfigError(resource: reference, path: "\(rulePath).timeouts.backendRequest", reason: "must be at most the request timeout (\(requestTimeout.configText), the Proxy's http.requestTimeout)"))
                }
            }
        }
        let proxyReference = resources.first { $0.kind == .proxy }?.reference ?? "Proxy"
        for (index, listener) in config.proxy.routingListeners.enumerated() {
            guard let name = listener.tcpService else { continue }
            let path = index == 0 ? "spec.outbound.tcpService" : "spec.gateways[\(index - 1)].tcpService"
            if let service = config.services[name] {
                if service.protocol != .tcp {
                    errors.append(ConfigError(resource: proxyReference, path: path, reason: "service '\(name)' must have protocol tcp to carry opaque TCP"))
                }
            } else {
                errors.append(ConfigError(resource: proxyReference, path: path, reason: "service '\(name)' is not defined"))
            }
        }
        guard errors.isEmpty else { throw ConfigErrors(errors) }
        return config
    }

    enum CodingKeys: String, CodingKey {
        case proxy, services, routes, authorizationPolicies
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(proxy, forKey: .proxy)
        try container.encode(services, forKey: .services)
        try container.encode(routes, forKey: .routes)
        try container.encode(authorizationPolicies, forKey: .authorizationPolicies)
    }
}
