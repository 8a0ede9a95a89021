extension HTTPRouteSpec {
    /// Every service the route names, with the field that names it
    /// (`spec.rules[0].backendRefs[1].name`), in order.
    public var serviceReferences: [(path: String, name: String)] {
        var references: [(path: String, name: String)] = []
        for (ruleIndex, rule) in rules.enumerated() {
            for (refIndex, backend) in rule.backendRefs.enumerated() {
                references.append(("spec.rules[\(ruleIndex)].backendRefs[\(refIndex)].name", backend.name))
                if let failover = backend.failover {
                    references.append(("spec.rules[\(ruleIndex)].backendRefs[\(refIndex)].failover", failover))
                }
            }
            for (filterIndex, filter) in rule.filters.enumerated() {
                guard case .requestMirror(let mirror) = filter else { continue }
                references.append(("spec.rules[\(ruleIndex)].filters[\(filterIndex)].requestMirror.backendRef.name", mirror.backend))
            }
        }
        return references
    }

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
