/// A whole, validated configuration: the proxy's settings, the services it can reach and the
/// routes to them. Built once per load or reload and then only read (an immutable snapshot).
public struct MeshConfig: Sendable, Encodable {
    public var proxy: ProxySpec
    /// Services by name.
    public var services: [String: ServiceSpec]
    /// Routes in the order they were given; precedence among their rules is decided by the
    /// route table, not by this order.
    public var routes: [NamedRoute]

    /// An `HTTPRoute` with its name.
    public struct NamedRoute: Hashable, Sendable, Encodable {
        public var name: String
        public var spec: HTTPRouteSpec
    }

    public init(proxy: ProxySpec = ProxySpec(), services: [String: ServiceSpec] = [:], routes: [NamedRoute] = []) {
        self.proxy = proxy
        self.services = services
        self.routes = routes
    }

    /// Parses and validates YAML; throws every problem found, so nothing half-valid is used.
    public static func load(yaml: String) throws(ConfigErrors) -> MeshConfig {
        try build(from: ResourceDecoder.decode(yaml: yaml))
    }

    /// Assembles resources and checks what no single resource can: names used once, backends
    /// and TCP services that exist, parent listeners that exist.
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
            }
        }
        let listenerNames = Set(config.proxy.routingListeners.map(\.name))
        for route in config.routes {
            let reference = "HTTPRoute/\(route.name)"
            for (index, parent) in route.spec.parentRefs.enumerated() where !listenerNames.contains(parent) {
                errors.append(ConfigError(resource: reference, path: "spec.parentRefs[\(index)].name", reason: "no listener is named '\(parent)' (listeners: \(listenerNames.sorted().joined(separator: ", ")))"))
            }
            for (ruleIndex, rule) in route.spec.rules.enumerated() {
                for (refIndex, backend) in rule.backendRefs.enumerated() {
                    guard let service = config.services[backend.name] else {
                        errors.append(ConfigError(resource: reference, path: "spec.rules[\(ruleIndex)].backendRefs[\(refIndex)].name", reason: "service '\(backend.name)' is not defined"))
                        continue
                    }
                    if service.protocol == .tcp {
                        errors.append(ConfigError(resource: reference, path: "spec.rules[\(ruleIndex)].backendRefs[\(refIndex)].name", reason: "service '\(backend.name)' speaks tcp and cannot be an HTTP route's backend"))
                    }
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
        case proxy, services, routes
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(proxy, forKey: .proxy)
        try container.encode(services, forKey: .services)
        try container.encode(routes, forKey: .routes)
    }
}
