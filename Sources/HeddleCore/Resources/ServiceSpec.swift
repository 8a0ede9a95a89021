/// What a service's endpoints speak.
public enum UpstreamProtocol: String, CaseIterable, Sendable, Codable {
    case http1
    /// HTTP/2 over cleartext with prior knowledge (h2c), streams multiplexed on pooled
    /// connections.
    case http2
    /// gRPC: HTTP/2 as `http2`, and the errors the proxy makes for it are gRPC-shaped
    /// (`grpc-status` in a trailers-only response).
    case grpc
    /// Opaque TCP: reached through a listener's `tcpService`, never by an HTTP route.
    case tcp
}

/// A service: its endpoints, how requests are spread over them, and how the proxy protects it
/// and its callers when it fails.
public struct ServiceSpec: Hashable, Sendable, Codable {
    public var `protocol`: UpstreamProtocol
    public var endpoints: [EndpointSpec]
    public var loadBalancer: LoadBalancerSpec
    /// How often endpoints given by DNS name are resolved again.
    public var dnsRefreshSeconds: Int
    public var circuitBreaker: CircuitBreakerSpec
    public var outlierDetection: OutlierDetectionSpec
    /// Active probes of the endpoints; nil (the default) means none.
    public var healthCheck: HealthCheckSpec?
    public var retryBudget: RetryBudgetSpec

    public init(
        protocol: UpstreamProtocol = .http1,
        endpoints: [EndpointSpec],
        loadBalancer: LoadBalancerSpec = LoadBalancerSpec(),
        dnsRefreshSeconds: Int = 30,
        circuitBreaker: CircuitBreakerSpec = CircuitBreakerSpec(),
        outlierDetection: OutlierDetectionSpec = OutlierDetectionSpec(),
        healthCheck: HealthCheckSpec? = nil,
        retryBudget: RetryBudgetSpec = RetryBudgetSpec()
    ) {
        self.protocol = `protocol`
        self.endpoints = endpoints
        self.loadBalancer = loadBalancer
        self.dnsRefreshSeconds = dnsRefreshSeconds
        self.circuitBreaker = circuitBreaker
        self.outlierDetection = outlierDetection
        self.healthCheck = healthCheck
        self.retryBudget = retryBudget
    }
}

/// One endpoint of a service: an IP or a DNS name (every address it resolves to becomes an
/// endpoint with this weight), with a weight and labels.
public struct EndpointSpec: Hashable, Sendable, Codable {
    public var address: HostPort
    /// Relative share of traffic; 0 takes the endpoint out of rotation.
    public var weight: Int
    public var labels: [String: String]
    /// The workload identity (SPIFFE ID) of the Heddle proxy at this address: when set, the
    /// connection is mutual TLS and the peer's certificate must name exactly this identity.
    public var identity: String?

    public init(address: HostPort, weight: Int = 1, labels: [String: String] = [:], identity: String? = nil) {
        self.address = address
        self.weight = weight
        self.labels = labels
        self.identity = identity
    }

    /// Whether `uri` has the shape of a Heddle workload identity,
    /// `spiffe://<trust-domain>/service/<name>` (the peer's certificate is checked in full).
    public static func isMeshIdentity(_ uri: String) -> Bool {
        guard uri.hasPrefix("spiffe://") else { return false }
        let parts = uri.dropFirst("spiffe://".count).split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 3 && !parts[0].isEmpty && parts[1] == "service" && !parts[2].isEmpty
    }
}

/// The balancing algorithm for a service.
public enum LoadBalancerPolicy: String, CaseIterable, Sendable, Codable {
    /// Power of two choices over peak-EWMA latency × in-flight requests (the default).
    case peakEWMA = "p2c-peak-ewma"
    case roundRobin = "round-robin"
    case leastRequest = "least-request"
    /// Consistent hashing on a header or cookie, for affinity.
    case ringHash = "ring-hash"
}

/// What a ring-hash balancer hashes to pick an endpoint.
public enum HashKeySpec: Hashable, Sendable, Codable {
    case header(String)
    case cookie(String)
}

/// How a service balances: the policy and, for `ring-hash`, the key.
public struct LoadBalancerSpec: Hashable, Sendable, Codable {
    public var policy: LoadBalancerPolicy
    public var hashKey: HashKeySpec?

    public init(policy: LoadBalancerPolicy = .peakEWMA, hashKey: HashKeySpec? = nil) {
        self.policy = policy
        self.hashKey = hashKey
    }
}
