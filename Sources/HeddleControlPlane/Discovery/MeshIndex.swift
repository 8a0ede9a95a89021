import HeddleAPI
import HeddleCore

/// What every snapshot is cut from, built once per revision: the services (declared, then
/// those only registered) with their healthy instances, the sidecars' routes indexed by
/// hostname, and the authorization policies by target. A scoped snapshot then costs what its
/// scope holds, not what the mesh holds: with thousands of proxies each calling a few services,
/// a change is not a walk of every instance and route per proxy.
struct MeshIndex {
    struct Route {
        var name: String
        var document: String
        var spec: HTTPRouteSpec
    }

    struct Policy {
        var name: String
        var document: String
        var target: String
    }

    let version: Int64
    /// By name, and each name's place in a whole-mesh push.
    private(set) var services: [String: SnapshotBuilder.ServiceInput] = [:]
    private(set) var serviceOrder: [String] = []
    private var serviceRank: [String: Int] = [:]
    /// In key order.
    private(set) var routes: [Route] = []
    /// Routes by each exact hostname they list; those with no hostnames or a wildcard apart.
    private var routesByHost: [String: [Int]] = [:]
    private var routesForAnyHost: [Int] = []
    /// In key order, and by the service they protect.
    private(set) var policies: [Policy] = []
    private var policiesByTarget: [String: [Int]] = [:]

    /// `resources`: the accepted resources in key order; `healthy`: the healthy instances by
    /// service; `isPushedToSidecars`: whether a route is the sidecars' (not a gateway's alone).
    init(version: Int64, resources: [(key: ResourceKey, entry: ResourceEntry)], healthy: [String: [RegisteredInstance]], isPushedToSidecars: (ResourceEntry) -> Bool) {
        self.version = version
        for (key, entry) in resources {
            switch entry.resource {
            case .service(let metadata, let spec)?:
                addService(metadata.name, SnapshotBuilder.ServiceInput(document: entry.stored.document, spec: spec, instances: healthy[metadata.name] ?? []))
            case .httpRoute(_, let spec)?:
                guard isPushedToSidecars(entry) else { continue }
                let index = routes.count
                routes.append(Route(name: key.name, document: entry.stored.document, spec: spec))
                if spec.hostnames.isEmpty || spec.hostnames.contains(where: { $0.hasPrefix("*.") }) {
                    routesForAnyHost.append(index)
                }
                for hostname in Set(spec.hostnames) where !hostname.hasPrefix("*.") {
                    routesByHost[hostname, default: []].append(index)
                }
            case .authorizationPolicy(_, let spec)?:
                policiesByTarget[spec.targetService, default: []].append(policies.count)
                policies.append(Policy(name: key.name, document: entry.stored.document, target: spec.targetService))
            case .proxy?, nil:
                continue
            }
        }
        // A service that only has registered instances is reachable by its name too, with
        // what its sidecars registered as its protocol.
        for (name, members) in healthy.sorted(by: { $0.key < $1.key }) where services[name] == nil && ResourceMetadata.isValidName(name) {
            let proto = members.contains { $0.stored.protocol == "grpc" } ? UpstreamProtocol.grpc : .http2
            addService(name, Self.undeclared(name, protocol: proto, instances: members))
        }
        // A service a route sends to that is neither declared nor has a healthy instance: an
        // empty one, so the route still loads (its requests answered 503 no-endpoints) and the
        // first instance to register fills it in.
        for route in routes {
            for name in route.spec.referencedServices.sorted() where services[name] == nil && ResourceMetadata.isValidName(name) {
                addService(name, Self.undeclared(name, protocol: .http2, instances: []))
            }
        }
    }

    /// A service no resource declares, as pushed: an empty `Service` document whose endpoints
    /// are the instances registered under its name.
    private static func undeclared(_ name: String, protocol proto: UpstreamProtocol, instances: [RegisteredInstance]) -> SnapshotBuilder.ServiceInput {
        let document = "apiVersion: heddle.dev/v1alpha1\nkind: Service\nmetadata:\n  name: \(name)\nspec:\n  protocol: \(proto.rawValue)\n  endpoints: []\n"
        return SnapshotBuilder.ServiceInput(document: document, spec: ServiceSpec(protocol: proto, endpoints: []), instances: instances)
    }

    private mutating func addService(_ name: String, _ input: SnapshotBuilder.ServiceInput) {
        guard services[name] == nil else { return }
        services[name] = input
        serviceRank[name] = serviceOrder.count
        serviceOrder.append(name)
    }

    /// What a scope is pushed: the service names, route indices and policy indices, each in
    /// whole-mesh order. With `calls`: the routes that may serve one of those hosts, the called
    /// services and every service those routes send to, and the policies of the proxy's own
    /// service. Without: everything.
    func cut(_ scope: WatchScope) -> (services: [String], routes: [Int], policies: [Int]) {
        guard let calls = scope.calls else {
            return (serviceOrder, Array(routes.indices), Array(policies.indices))
        }
        var kept = Set<Int>()
        for host in calls {
            kept.formUnion(routesByHost[host] ?? [])
            for index in routesForAnyHost where routes[index].spec.serves(host: host) {
                kept.insert(index)
            }
        }
        var wanted = calls
        for index in kept { wanted.formUnion(routes[index].spec.referencedServices) }
        let names = wanted.filter { services[$0] != nil }.sorted { serviceRank[$0]! < serviceRank[$1]! }
        let ownPolicies = scope.service.flatMap { policiesByTarget[$0] } ?? []
        return (names, kept.sorted(), ownPolicies)
    }
}
