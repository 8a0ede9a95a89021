/// A registered service instance: where it listens (its sidecar's inbound address), what it
/// speaks, its labels and weight, and its health.
public struct Instance: Codable, Hashable, Sendable {
    public enum Health: String, Codable, Hashable, Sendable {
        /// Heartbeating and passing.
        case healthy
        /// Reported failing by its proxy, or its lease ran out (removed after a grace period).
        case unhealthy
    }

    /// Assigned by the control plane at registration.
    public var id: String
    public var service: String
    public var address: String
    public var port: Int
    /// `http1`, `http2`, `grpc` or `tcp`: what the address speaks (a sidecar's inbound
    /// listener speaks `http2`).
    public var `protocol`: String
    public var labels: [String: String]
    public var weight: Int
    public var health: Health
    /// The store revision of the instance's last change.
    public var revision: Int64

    public init(id: String, service: String, address: String, port: Int, protocol: String = "http2", labels: [String: String] = [:], weight: Int = 1, health: Health = .healthy, revision: Int64 = 0) {
        self.id = id
        self.service = service
        self.address = address
        self.port = port
        self.protocol = `protocol`
        self.labels = labels
        self.weight = weight
        self.health = health
        self.revision = revision
    }
}

/// `POST /v1/instances`: registers an instance (its sidecar does, at start) with a lease the
/// sidecar keeps by heartbeat (`POST /v1/instances/{id}/heartbeat`).
public struct RegisterRequest: Codable, Hashable, Sendable {
    public var service: String
    public var address: String
    public var port: Int
    public var `protocol`: String
    public var labels: [String: String]
    public var weight: Int
    /// How long the instance stays without a heartbeat before it is marked unhealthy (and,
    /// after as long again, removed). Default 10 s.
    public var leaseSeconds: Int

    public init(service: String, address: String, port: Int, protocol: String = "http2", labels: [String: String] = [:], weight: Int = 1, leaseSeconds: Int = 10) {
        self.service = service
        self.address = address
        self.port = port
        self.protocol = `protocol`
        self.labels = labels
        self.weight = weight
        self.leaseSeconds = leaseSeconds
    }
}
