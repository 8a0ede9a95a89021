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
    /// Whether its proxy is reached over mutual TLS, proving the service's workload identity.
    public var mutualTLS: Bool
    /// Where its proxy's admin endpoint answers (`host:port`), for the control plane to gather
    /// metrics from; nil when the proxy did not say.
    public var adminAddress: String?

    public init(
        id: String, service: String, address: String, port: Int, protocol: String = "http2", labels: [String: String] = [:], weight: Int = 1,
        health: Health = .healthy, revision: Int64 = 0, mutualTLS: Bool = false, adminAddress: String? = nil
    ) {
        self.mutualTLS = mutualTLS
        self.adminAddress = adminAddress
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
    /// The instance's proxy accepts mutual TLS with the service's workload identity: callers
    /// must reach it that way (and check that identity). Default false.
    public var mutualTLS: Bool
    /// Where the proxy's admin endpoint answers, `host:port` (optional): the control plane
    /// gathers its `/metrics` from there for `heddle top` and the dashboard.
    public var adminAddress: String?

    public init(
        service: String, address: String, port: Int, protocol: String = "http2", labels: [String: String] = [:], weight: Int = 1,
        leaseSeconds: Int = 10, mutualTLS: Bool = false, adminAddress: String? = nil
    ) {
        self.mutualTLS = mutualTLS
        self.adminAddress = adminAddress
        self.service = service
        self.address = address
        self.port = port
        self.protocol = `protocol`
        self.labels = labels
        self.weight = weight
        self.leaseSeconds = leaseSeconds
    }
}

/// `POST /v1/instances/{id}/health`: what the instance's proxy finds of its app (its health
/// checks). An unhealthy instance stays registered but gets no traffic.
public struct HealthReport: Codable, Hashable, Sendable {
    public var healthy: Bool

    public init(healthy: Bool) {
        self.healthy = healthy
    }
}

extension RegisterRequest {
    private enum CodingKeys: String, CodingKey {
        case service, address, port, `protocol`, labels, weight, leaseSeconds, mutualTLS, adminAddress
    }

    /// `protocol`, `labels`, `weight`, `leaseSeconds`, `mutualTLS` and `adminAddress` may be left
    /// out (their defaults).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = RegisterRequest(service: "", address: "", port: 0)
        self.init(
            service: try container.decode(String.self, forKey: .service),
            address: try container.decode(String.self, forKey: .address),
            port: try container.decode(Int.self, forKey: .port),
            protocol: try container.decodeIfPresent(String.self, forKey: .protocol) ?? defaults.protocol,
            labels: try container.decodeIfPresent([String: String].self, forKey: .labels) ?? defaults.labels,
            weight: try container.decodeIfPresent(Int.self, forKey: .weight) ?? defaults.weight,
            leaseSeconds: try container.decodeIfPresent(Int.self, forKey: .leaseSeconds) ?? defaults.leaseSeconds,
            mutualTLS: try container.decodeIfPresent(Bool.self, forKey: .mutualTLS) ?? false,
            adminAddress: try container.decodeIfPresent(String.self, forKey: .adminAddress))
    }
}
