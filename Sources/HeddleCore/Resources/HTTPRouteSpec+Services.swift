extension HTTPRouteSpec {
    /// Every service the route sends to: its rules' backends, their failovers and the mirrors.
    public var referencedServices: Set<String> {
        var names: Set<String> = []
        for rule in rules {
            for backend in rule.backendRefs {
                names.insert(backend.name)
                if let failover = backend.failover { names.insert(failover) }
            }
            for case .requestMirror(let mirror) in rule.filters {
                names.insert(mirror.backend)
            }
        }
        return names
    }

    /// Whether a request for `host` may match the route: no hostnames (every host), the host
    /// itself, or a wildcard (`*.example.com`) that covers it.
    public func serves(host: String) -> Bool {
        hostnames.isEmpty || hostnames.contains { pattern in
            pattern == host || (pattern.hasPrefix("*.") && host.hasSuffix(pattern.dropFirst()) && host.count > pattern.count - 1)
        }
    }
}
