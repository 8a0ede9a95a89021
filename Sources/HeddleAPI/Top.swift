/// `GET /v1/top`: the mesh's live traffic, gathered by the control plane from every proxy's
/// metrics: per service and per route, the golden metrics over the last `windowSeconds`.
public struct TopReport: Codable, Hashable, Sendable {
    /// The seconds between the two readings the rates come from.
    public var windowSeconds: Double
    public var services: [ServiceTraffic]
    public var routes: [RouteTraffic]
    /// Who calls whom: one edge per calling service and called service that carried requests
    /// in the window (the service graph).
    public var edges: [ServiceEdge]
    /// Each proxy's workload certificate, soonest to expire first.
    public var certificates: [WorkloadCertificate]
    /// Proxies whose metrics were read, and the instances whose proxy could not be (or did not
    /// register an admin address).
    public var proxiesRead: Int
    public var proxiesUnreachable: [String]

    public init(
        windowSeconds: Double, services: [ServiceTraffic], routes: [RouteTraffic], edges: [ServiceEdge] = [], certificates: [WorkloadCertificate] = [],
        proxiesRead: Int, proxiesUnreachable: [String]
    ) {
        self.windowSeconds = windowSeconds
        self.services = services
        self.routes = routes
        self.edges = edges
        self.certificates = certificates
        self.proxiesRead = proxiesRead
        self.proxiesUnreachable = proxiesUnreachable
    }
}

/// Requests from the proxies of one service's instances to another service, as the callers'
/// proxies counted them (proxy-made failures included).
public struct ServiceEdge: Codable, Hashable, Sendable {
    public var source: String
    public var destination: String
    public var signals: GoldenSignals

    public init(source: String, destination: String, signals: GoldenSignals) {
        self.source = source
        self.destination = destination
        self.signals = signals
    }
}

/// The workload certificate a proxy serves with, from its metrics.
public struct WorkloadCertificate: Codable, Hashable, Sendable {
    public var instance: String
    public var service: String
    /// Seconds since 1970; nil when the proxy holds no certificate (plain-text mesh).
    public var notAfter: Int64?

    public init(instance: String, service: String, notAfter: Int64?) {
        self.instance = instance
        self.service = service
        self.notAfter = notAfter
    }
}

/// The golden metrics of a group of requests over the window.
public struct GoldenSignals: Codable, Hashable, Sendable {
    public var requestsPerSecond: Double
    /// The share not answered 5xx, 0…1; nil without requests.
    public var successRate: Double?
    /// Milliseconds; nil without requests.
    public var p50Milliseconds: Double?
    public var p99Milliseconds: Double?

    public init(requestsPerSecond: Double, successRate: Double?, p50Milliseconds: Double?, p99Milliseconds: Double?) {
        self.requestsPerSecond = requestsPerSecond
        self.successRate = successRate
        self.p50Milliseconds = p50Milliseconds
        self.p99Milliseconds = p99Milliseconds
    }

    public static let idle = GoldenSignals(requestsPerSecond: 0, successRate: nil, p50Milliseconds: nil, p99Milliseconds: nil)
}

/// One service: as its callers' proxies saw it (`callers`: outbound listeners and gateways,
/// proxy-made failures included), and as its own instances' proxies served it (`inbound`).
public struct ServiceTraffic: Codable, Hashable, Sendable {
    public var name: String
    public var healthyInstances: Int
    public var instances: Int
    public var callers: GoldenSignals
    public var inbound: GoldenSignals
    /// Requests to the service in flight in its callers' proxies (sampled each second).
    public var inFlight: Int
    /// Retries its callers' proxies sent to it, per second.
    public var retriesPerSecond: Double
    /// Endpoints held out of rotation by outlier detection, in the caller's proxy that holds
    /// the most out.
    public var ejectedEndpoints: Int

    public init(
        name: String, healthyInstances: Int, instances: Int, callers: GoldenSignals, inbound: GoldenSignals, inFlight: Int,
        retriesPerSecond: Double, ejectedEndpoints: Int
    ) {
        self.name = name
        self.healthyInstances = healthyInstances
        self.instances = instances
        self.callers = callers
        self.inbound = inbound
        self.inFlight = inFlight
        self.retriesPerSecond = retriesPerSecond
        self.ejectedEndpoints = ejectedEndpoints
    }
}

/// One route rule and backend, as the calling proxies saw it.
public struct RouteTraffic: Codable, Hashable, Sendable {
    /// `ROUTE#RULE`, or the service's name for a service reached by its own name.
    public var route: String
    public var backend: String
    public var signals: GoldenSignals

    public init(route: String, backend: String, signals: GoldenSignals) {
        self.route = route
        self.backend = backend
        self.signals = signals
    }
}
