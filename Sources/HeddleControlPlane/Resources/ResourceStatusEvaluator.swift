import HeddleAPI
import HeddleCore

/// Judges every stored resource with all the others: a resource is `accepted` when the mesh
/// can run it, `refused` with the reasons otherwise (a route whose backend is a service that
/// speaks `tcp`). One refused resource never blocks the others: it is left out, and the rest
/// judged again.
///
/// A route may send to a service no `Service` resource declares: the mesh knows services by
/// their registered instances too, and instances may register before or after the route. Such
/// a route is accepted with a warning per field naming one; proxies are pushed the service with
/// the instances registered under its name (none: 503 `no-endpoints`).
///
/// What depends on a proxy's own settings is not judged here, since proxies differ: the
/// listeners a route's `parentRefs` name, and a rule's `backendRequest` timeout against the
/// proxy's request timeout. A proxy that cannot load a push says so in its acknowledgement.
enum ResourceStatusEvaluator {
    static func evaluate(_ entries: [ResourceKey: ResourceEntry]) -> [ResourceKey: ResourceStatus] {
        var statuses: [ResourceKey: ResourceStatus] = [:]
        var candidates: [ResourceKey: Resource] = [:]
        for (key, entry) in entries {
            if let resource = entry.resource {
                candidates[key] = resource
            } else {
                statuses[key] = ResourceStatus(state: .refused, errors: entry.decodeErrors)
            }
        }
        let keysByReference = Dictionary(uniqueKeysWithValues: candidates.keys.map { ($0.reference, $0) })
        // Each round refuses at least one resource or ends, so this ends.
        while true {
            let ordered = candidates.sorted { $0.key < $1.key }.map(\.value)
            let errors: [ConfigError]
            do {
                _ = try MeshConfig.build(from: [permissiveProxy(for: ordered)] + impliedServices(for: ordered) + ordered)
                break
            } catch {
                errors = error.errors
            }
            var refused: [ResourceKey: [FieldError]] = [:]
            for error in errors {
                guard let reference = error.resource, let key = keysByReference[reference], candidates[key] != nil else { continue }
                refused[key, default: []].append(FieldError(error, resource: reference))
            }
            if refused.isEmpty { break }
            for (key, errors) in refused {
                candidates[key] = nil
                statuses[key] = ResourceStatus(state: .refused, errors: errors)
            }
        }
        let declared = declaredServices(candidates.values)
        for (key, resource) in candidates {
            var warnings: [FieldError] = []
            if case .httpRoute(_, let route) = resource {
                for (path, name) in route.serviceReferences where !declared.contains(name) {
                    warnings.append(FieldError(
                        resource: key.reference, path: path,
                        reason: "service '\(name)' is not declared: requests go to the instances registered under that name, and are answered 503 no-endpoints while there are none"))
                }
            }
            statuses[key] = ResourceStatus(state: .accepted, warnings: warnings)
        }
        return statuses
    }

    private static func declaredServices(_ resources: some Sequence<Resource>) -> Set<String> {
        var names: Set<String> = []
        for case .service(let metadata, _) in resources { names.insert(metadata.name) }
        return names
    }

    /// An empty `Service` for every name the routes send to that no resource declares, so a
    /// route is judged as the proxies will run it. A name that cannot be a service's is not
    /// implied: the route is refused, naming it.
    static func impliedServices(for resources: [Resource]) -> [Resource] {
        let declared = declaredServices(resources)
        var implied: Set<String> = []
        for case .httpRoute(_, let route) in resources {
            implied.formUnion(route.referencedServices.subtracting(declared).filter(ResourceMetadata.isValidName))
        }
        return implied.sorted().map { .service(ResourceMetadata(name: $0), ServiceSpec(protocol: .http2, endpoints: [])) }
    }

    /// A proxy with every listener the routes name and no request timeout to speak of, so that
    /// only what lies between the resources themselves is judged.
    static func permissiveProxy(for resources: [Resource]) -> Resource {
        var proxy = ProxySpec()
        var names: Set<String> = [proxy.outbound.name]
        for case .httpRoute(_, let route) in resources {
            for parent in route.parentRefs where names.insert(parent).inserted {
                proxy.gateways.append(ListenerSpec(name: parent, address: HostPort(host: "0.0.0.0", port: 0)))
            }
        }
        proxy.http.requestTimeout = .seconds(100 * 365 * 24 * 3600)
        return .proxy(ResourceMetadata(name: "control-plane"), proxy)
    }
}
