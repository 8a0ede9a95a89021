import HeddleCore
import HeddlePolicy
import NIOCore

/// One immutable configuration in force: the validated config, each listener's compiled route
/// table, and each service's resolved endpoints. Handlers read the snapshot of their event
/// loop when a request starts and keep it to the end of that request.
final class ProxySnapshot: Sendable {
    /// Increases by one with every accepted load or reload.
    let generation: Int
    let config: MeshConfig
    /// `config.proxy.http`, read on every request.
    let http: HTTPSettings
    /// The per-request timeouts in nanoseconds, so arming a deadline is an addition.
    let idleTimeoutNanos: UInt64
    let headerReadTimeoutNanos: UInt64
    let requestTimeoutNanos: UInt64
    /// Route tables by listener name.
    let routeTables: [String: RouteTable]
    /// Services in `RouteTable.serviceNames` order.
    let services: [ResolvedService]
    let serviceIndex: [String: Int]
    /// Listener rate limits by listener name (`inbound` for the inbound listener).
    let listenerRateLimits: [String: RateLimitSpec]
    /// The `AuthorizationPolicy` resources of the inbound listener's service; nil when none
    /// apply (every caller is allowed).
    let inboundAuthorization: AuthorizationTable?

    init(generation: Int, config: MeshConfig, resolved: Resolution) {
        self.generation = generation
        self.config = config
        http = config.proxy.http
        idleTimeoutNanos = UInt64(http.idleTimeout.nanosecondsClamped)
        headerReadTimeoutNanos = UInt64(http.headerReadTimeout.nanosecondsClamped)
        requestTimeoutNanos = UInt64(http.requestTimeout.nanosecondsClamped)
        var tables: [String: RouteTable] = [:]
        for listener in config.proxy.routingListeners {
            tables[listener.name] = RouteTable(config: config, listener: listener.name)
        }
        let names = config.services.keys.sorted()
        var services = names.map { name in
            ResolvedService(name: name, spec: config.services[name]!, endpoints: resolved.endpoints[name] ?? [], unresolved: resolved.failures[name] ?? [])
        }
        if let inbound = config.proxy.inbound {
            let app = ResolvedService(
                name: Self.inboundAppName,
                spec: ServiceSpec(protocol: inbound.appProtocol, endpoints: [EndpointSpec(address: inbound.appAddress)], outlierDetection: OutlierDetectionSpec(enabled: false)),
                endpoints: resolved.endpoints[Self.inboundAppName] ?? [],
                unresolved: resolved.failures[Self.inboundAppName] ?? [])
            // The inbound side neither retries nor ejects its app: the caller's sidecar retries,
            // on another instance when there is one; retrying here too would multiply the load
            // on a failing app, and ejecting the only endpoint would change nothing.
            tables["inbound"] = RouteTable(
                everythingTo: services.count, serviceNames: names + [app.name], routeName: "inbound",
                resilience: RuleResilience(retry: RetryPolicySpec(attempts: 1)))
            services.append(app)
        }
        routeTables = tables
        var limits: [String: RateLimitSpec] = [:]
        for listener in config.proxy.routingListeners {
            if let limit = listener.rateLimit { limits[listener.name] = limit }
        }
        if let limit = config.proxy.inbound?.rateLimit { limits["inbound"] = limit }
        listenerRateLimits = limits
        if let service = config.proxy.inbound?.service {
            let table = AuthorizationTable(service: service, policies: config.authorizationPolicies)
            inboundAuthorization = table.isEmpty ? nil : table
        } else {
            inboundAuthorization = nil
        }
        self.services = services
        serviceIndex = Dictionary(uniqueKeysWithValues: services.enumerated().map { ($1.name, $0) })
    }

    /// The inbound listener's local app, as a service; `@` keeps it apart from user services.
    static let inboundAppName = "@app"

    /// Every address to resolve: each service's endpoints, and the inbound app.
    static func targets(of config: MeshConfig) -> [String: [EndpointSpec]] {
        var targets = config.services.mapValues(\.endpoints)
        if let inbound = config.proxy.inbound {
            targets[inboundAppName] = [EndpointSpec(address: inbound.appAddress)]
        }
        return targets
    }
}

/// A service with its endpoints resolved to socket addresses. A class: the request path
/// reads it by reference.
final class ResolvedService: Sendable {
    let name: String
    let spec: ServiceSpec
    let endpoints: [ResolvedEndpoint]
    /// Why configured endpoint names did not resolve (reported as `dns-failed` when no
    /// endpoint is left).
    let unresolved: [String]

    init(name: String, spec: ServiceSpec, endpoints: [ResolvedEndpoint], unresolved: [String]) {
        self.name = name
        self.spec = spec
        self.endpoints = endpoints
        self.unresolved = unresolved
    }

    var balancerEndpoints: [BalancerEndpoint] {
        endpoints.map { BalancerEndpoint(key: $0.key, weight: UInt32(clamping: $0.weight)) }
    }

    var algorithm: BalancerAlgorithm {
        switch spec.loadBalancer.policy {
        case .peakEWMA: .default
        case .roundRobin: .roundRobin
        case .leastRequest: .leastRequest
        case .ringHash: .ringHash(minimumRingSize: 1024)
        }
    }
}

/// One address of a service endpoint. A class: a request's route, balancer pick and
/// connection all refer to the same endpoint, and a reference is one count to copy where the
/// fields (an address and four strings) are five.
final class ResolvedEndpoint: Sendable, Hashable {
    let address: SocketAddress
    /// `ip:port`, the key of the endpoint's balancer stats and connection pool.
    let key: String
    let weight: Int
    /// The endpoint as configured (a DNS name, or the same IP).
    let configured: HostPort
    /// The workload identity of the mesh peer at this address, reached over mutual TLS; nil
    /// for a plain endpoint.
    let identity: String?
    /// The key of the endpoint's pooled connections: its address and, for a mesh peer, the
    /// identity the connection proved — a connection verified as one service is never reused
    /// for another registered at the same address.
    let poolKey: String
    /// `key` with its hash worked out once, for the per-loop pools that look it up per request.
    let plainPoolKey: EndpointPoolKey

    init(address: SocketAddress, weight: Int, configured: HostPort, identity: String? = nil) {
        self.identity = identity
        self.address = address
        let key = address.ipAddress.map { ip in ip.contains(":") ? "[\(ip)]:\(address.port ?? 0)" : "\(ip):\(address.port ?? 0)" } ?? address.description
        self.key = key
        self.weight = weight
        self.configured = configured
        poolKey = identity.map { "\(key) \($0)" } ?? key
        plainPoolKey = EndpointPoolKey(key)
    }

    static func == (lhs: ResolvedEndpoint, rhs: ResolvedEndpoint) -> Bool {
        lhs === rhs
            || (lhs.address == rhs.address && lhs.key == rhs.key && lhs.weight == rhs.weight && lhs.configured == rhs.configured
                && lhs.identity == rhs.identity)
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(poolKey)
        hasher.combine(weight)
    }
}

/// An endpoint's pool key with its hash worked out once: a lookup hashes one integer instead
/// of the key's bytes.
struct EndpointPoolKey: Hashable, Sendable {
    let key: String
    private let hash: Int

    init(_ key: String) {
        self.key = key
        hash = key.hashValue
    }

    static func == (lhs: EndpointPoolKey, rhs: EndpointPoolKey) -> Bool {
        lhs.hash == rhs.hash && lhs.key == rhs.key
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(hash)
    }
}
