/// `GET /v1/services/{name}/endpoints`: a service's instances as the registry holds them, and
/// its endpoints as each calling proxy sees them (ejected by outlier detection, failing active
/// health checks, or available).
public struct ServiceEndpoints: Codable, Hashable, Sendable {
    public var service: String
    public var instances: [Instance]
    /// One entry per proxy that has called the service, by instance id.
    public var callers: [CallerView]
    /// Calling proxies that did not answer.
    public var callersUnreachable: [String]

    public init(service: String, instances: [Instance], callers: [CallerView], callersUnreachable: [String]) {
        self.service = service
        self.instances = instances
        self.callers = callers
        self.callersUnreachable = callersUnreachable
    }

    /// The endpoints as one calling proxy sees them.
    public struct CallerView: Codable, Hashable, Sendable {
        public var instance: String
        public var service: String
        public var endpoints: [EndpointState]

        public init(instance: String, service: String, endpoints: [EndpointState]) {
            self.instance = instance
            self.service = service
            self.endpoints = endpoints
        }
    }
}

/// One endpoint of a service in one proxy, over its workers (each worker keeps its own outlier
/// detection): the proxy admin endpoint's `/endpoints?service=NAME` answers a list of these.
public struct EndpointState: Codable, Hashable, Sendable {
    public var address: String
    public var identity: String?
    public var weight: Int
    /// `ejected` (on at least one worker), `unhealthy` (active health checks fail) or
    /// `available`.
    public var state: String
    /// The longest time left of an ejection, in seconds.
    public var ejectedForSeconds: Double?
    /// How many of the proxy's workers hold it ejected, of how many.
    public var workersEjecting: Int
    public var workers: Int

    public init(address: String, identity: String?, weight: Int, state: String, ejectedForSeconds: Double?, workersEjecting: Int, workers: Int) {
        self.address = address
        self.identity = identity
        self.weight = weight
        self.state = state
        self.ejectedForSeconds = ejectedForSeconds
        self.workersEjecting = workersEjecting
        self.workers = workers
    }
}

/// `GET /v1/routes`: every HTTPRoute as the dashboard draws it — its hostnames and, per rule,
/// what it matches, its filters, and its weighted backends.
public struct RouteSummary: Codable, Hashable, Sendable {
    public var name: String
    /// `accepted` or `refused`.
    public var state: String
    public var parents: [String]
    public var hostnames: [String]
    public var rules: [Rule]

    public init(name: String, state: String, parents: [String], hostnames: [String], rules: [Rule]) {
        self.name = name
        self.state = state
        self.parents = parents
        self.hostnames = hostnames
        self.rules = rules
    }

    public struct Rule: Codable, Hashable, Sendable {
        /// `ROUTE#INDEX`, as the proxies' metrics label it.
        public var label: String
        /// Each match as text (`PathPrefix /users, header x-canary=1`).
        public var matches: [String]
        /// The filters' kinds (`fault`, `rateLimit`, `requestMirror`, …).
        public var filters: [String]
        public var backends: [Backend]

        public init(label: String, matches: [String], filters: [String], backends: [Backend]) {
            self.label = label
            self.matches = matches
            self.filters = filters
            self.backends = backends
        }
    }

    public struct Backend: Codable, Hashable, Sendable {
        public var service: String
        public var weight: Int
        public var failover: String?

        public init(service: String, weight: Int, failover: String?) {
            self.service = service
            self.weight = weight
            self.failover = failover
        }
    }
}
