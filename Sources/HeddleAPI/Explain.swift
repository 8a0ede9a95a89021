/// `GET /v1/explain/{id}`: why a request failed, from what every proxy it crossed remembers of
/// it (`heddle explain ID`).
public struct Explanation: Codable, Hashable, Sendable {
    public var requestID: String
    /// One sentence: where the request failed and why.
    public var verdict: String
    /// The `heddle-error` reason of the proxy that made the error, nil when an app did.
    public var reason: String?
    /// What to look at, most likely first.
    public var advice: [String]
    /// Each proxy's record of the request, the caller's side first.
    public var hops: [ExplainedHop]

    public init(requestID: String, verdict: String, reason: String?, advice: [String], hops: [ExplainedHop]) {
        self.requestID = requestID
        self.verdict = verdict
        self.reason = reason
        self.advice = advice
        self.hops = hops
    }
}

/// One proxy's record of a failed request.
public struct ExplainedHop: Codable, Hashable, Sendable {
    public var instance: String
    public var service: String
    /// `outbound` (the service calling out) or `inbound` (a request to the service).
    public var direction: String
    public var method: String
    public var authority: String
    public var path: String
    public var status: Int
    public var latencyMilliseconds: Double
    public var route: String?
    public var backend: String?
    public var endpoint: String?
    public var source: String?
    public var destination: String?
    public var heddleError: String?
    public var details: String?
    public var retries: Int

    public init(
        instance: String, service: String, direction: String, method: String, authority: String, path: String, status: Int, latencyMilliseconds: Double,
        route: String?, backend: String?, endpoint: String?, source: String?, destination: String?, heddleError: String?, details: String?, retries: Int
    ) {
        self.instance = instance
        self.service = service
        self.direction = direction
        self.method = method
        self.authority = authority
        self.path = path
        self.status = status
        self.latencyMilliseconds = latencyMilliseconds
        self.route = route
        self.backend = backend
        self.endpoint = endpoint
        self.source = source
        self.destination = destination
        self.heddleError = heddleError
        self.details = details
        self.retries = retries
    }
}

/// `GET /v1/explain?from=SERVICE&host=H&path=P[&method=M&header=name:value]`: what a proxy of
/// `from` would do with a request, without sending it (`heddle explain --from`).
public struct RoutePreview: Codable, Hashable, Sendable {
    public struct Backend: Codable, Hashable, Sendable {
        public var service: String
        public var weight: UInt64
        public var failover: String?
        public var `protocol`: String
        public var endpoints: [Endpoint]
        public var requestsInFlight: Int
        public var requestLimit: Int
        public var retryBudgetAvailable: Int
        /// Why no request would reach it, when none would.
        public var problem: String?
        /// The registry's count of the service's instances (added by the control plane).
        public var healthyInstances: Int?
        public var instances: Int?

        public init(
            service: String, weight: UInt64, failover: String?, protocol: String, endpoints: [Endpoint], requestsInFlight: Int, requestLimit: Int,
            retryBudgetAvailable: Int, problem: String?
        ) {
            self.service = service
            self.weight = weight
            self.failover = failover
            self.protocol = `protocol`
            self.endpoints = endpoints
            self.requestsInFlight = requestsInFlight
            self.requestLimit = requestLimit
            self.retryBudgetAvailable = retryBudgetAvailable
            self.problem = problem
        }
    }

    public struct Endpoint: Codable, Hashable, Sendable {
        public var address: String
        public var weight: Int
        public var identity: String?
        /// `available`, `ejected` (outlier detection, for `ejectedForSeconds` more) or
        /// `unhealthy` (failing its active health check).
        public var state: String
        public var ejectedForSeconds: Double?

        public init(address: String, weight: Int, identity: String?, state: String, ejectedForSeconds: Double?) {
            self.address = address
            self.weight = weight
            self.identity = identity
            self.state = state
            self.ejectedForSeconds = ejectedForSeconds
        }
    }

    /// The instance whose proxy answered (added by the control plane).
    public var instance: String?
    public var listener: String
    public var host: String
    public var path: String
    public var method: String
    public var route: String?
    /// Why the request would fail before reaching any backend (`no-route: ...`).
    public var failure: String?
    public var requestTimeoutMilliseconds: Double?
    public var perTryTimeoutMilliseconds: Double?
    public var maxAttempts: Int?
    public var retryOnStatuses: [Int]?
    public var fault: Bool
    public var mirrors: [String]
    public var backends: [Backend]

    public init(listener: String, host: String, path: String, method: String, failure: String? = nil, fault: Bool, mirrors: [String], backends: [Backend]) {
        self.listener = listener
        self.host = host
        self.path = path
        self.method = method
        self.failure = failure
        self.fault = fault
        self.mirrors = mirrors
        self.backends = backends
    }
}
