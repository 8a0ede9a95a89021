/// Per-destination resource limits, as Envoy's circuit breakers: connections, requests waiting
/// for a connection, requests in flight and retries in flight are each counted against a
/// limit, and a unit over the limit is refused at once (the proxy answers 503 with reason
/// `circuit-open`) instead of queueing behind an overloaded upstream.
///
/// Every `tryAcquire` that succeeds is paired with one `release` of the same resource. The
/// counts are per instance: with one breaker per event loop, the destination as a whole
/// allows up to the number of loops times each limit. Defaults: 1024 of each.
public struct CircuitBreaker: Sendable {
    /// What is counted against a limit.
    public enum Resource: Int, Hashable, Sendable, CaseIterable {
        /// Open upstream connections.
        case connections
        /// Requests waiting for a connection.
        case pendingRequests
        /// Requests in flight.
        case requests
        /// Retries in flight.
        case retries
    }

    /// The limit for each resource; a limit of 0 refuses everything.
    public struct Limits: Hashable, Sendable {
        /// The default for every limit: 1024.
        public static let defaultLimit = 1024

        public var connections: Int
        public var pendingRequests: Int
        public var requests: Int
        public var retries: Int

        public init(
            connections: Int = Limits.defaultLimit,
            pendingRequests: Int = Limits.defaultLimit,
            requests: Int = Limits.defaultLimit,
            retries: Int = Limits.defaultLimit
        ) {
            self.connections = connections
            self.pendingRequests = pendingRequests
            self.requests = requests
            self.retries = retries
        }

        /// The limit for `resource`.
        public subscript(resource: Resource) -> Int {
            switch resource {
            case .connections: connections
            case .pendingRequests: pendingRequests
            case .requests: requests
            case .retries: retries
            }
        }
    }

    /// The limits in force; changing them keeps the counts, so a lowered limit refuses new
    /// units until enough are released.
    public var limits: Limits
    private var connections = 0
    private var pendingRequests = 0
    private var requests = 0
    private var retries = 0

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Takes one unit of `resource` if it is under its limit; false means refuse the work.
    public mutating func tryAcquire(_ resource: Resource) -> Bool {
        let limit = limits[resource]
        switch resource {
        case .connections: return Self.take(&connections, limit)
        case .pendingRequests: return Self.take(&pendingRequests, limit)
        case .requests: return Self.take(&requests, limit)
        case .retries: return Self.take(&retries, limit)
        }
    }

    /// Gives back one unit of `resource`. A release without a matching acquire is ignored
    /// rather than driving the count below zero.
    public mutating func release(_ resource: Resource) {
        switch resource {
        case .connections: Self.give(&connections)
        case .pendingRequests: Self.give(&pendingRequests)
        case .requests: Self.give(&requests)
        case .retries: Self.give(&retries)
        }
    }

    /// Units of `resource` held now.
    public func count(_ resource: Resource) -> Int {
        switch resource {
        case .connections: connections
        case .pendingRequests: pendingRequests
        case .requests: requests
        case .retries: retries
        }
    }

    /// Whether `resource` is at or over its limit, so the next `tryAcquire` would fail: the
    /// breaker is open for it.
    public func isOpen(_ resource: Resource) -> Bool {
        count(resource) >= limits[resource]
    }

    private static func take(_ count: inout Int, _ limit: Int) -> Bool {
        guard count < limit else { return false }
        count += 1
        return true
    }

    private static func give(_ count: inout Int) {
        if count > 0 { count -= 1 }
    }
}
