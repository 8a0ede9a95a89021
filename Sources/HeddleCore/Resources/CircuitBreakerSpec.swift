/// Limits on what this proxy sends one service at once; a request over a limit fails at once
/// (503) instead of queueing behind a service that is already overloaded.
public struct CircuitBreakerSpec: Hashable, Sendable, Codable {
    /// Connections open to the service's endpoints, all together.
    public var maxConnections: Int
    /// Requests waiting for a connection or a stream; 0 lets none wait.
    public var maxPendingRequests: Int
    /// Requests in flight to the service.
    public var maxRequests: Int
    /// Retries in flight to the service; 0 turns retries to it off.
    public var maxRetries: Int

    public init(maxConnections: Int = 1024, maxPendingRequests: Int = 1024, maxRequests: Int = 1024, maxRetries: Int = 1024) {
        self.maxConnections = maxConnections
        self.maxPendingRequests = maxPendingRequests
        self.maxRequests = maxRequests
        self.maxRetries = maxRetries
    }
}
