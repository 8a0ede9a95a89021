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
