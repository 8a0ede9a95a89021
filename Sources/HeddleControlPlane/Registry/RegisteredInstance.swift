import HeddleAPI
import HeddleCore

/// A registered instance as the control plane holds it: the store's record, its lease, and
/// what its proxy last reported of its health.
struct RegisteredInstance: Sendable {
    var stored: StoredInstance
    var lease: InstanceLease
    /// The proxy's last report (`POST /v1/instances/{id}/health`); true until one says otherwise.
    var reportedHealthy: Bool

    /// Healthy while the proxy reports it healthy and its lease holds. An instance another
    /// control plane holds (a shared store) is as that one last wrote it.
    var health: Instance.Health {
        guard stored.heldHere else { return Instance.Health(rawValue: stored.health) ?? .unhealthy }
        return reportedHealthy && !lease.expired ? .healthy : .unhealthy
    }

    /// The record to store for the current health.
    var updatedRecord: StoredInstance {
        var record = stored
        record.health = health.rawValue
        return record
    }

    /// The record's address as an endpoint address.
    var address: HostPort { HostPort(host: stored.address, port: stored.port) }

    var wire: Instance {
        Instance(
            id: stored.id, service: stored.service, address: stored.address, port: stored.port, protocol: stored.protocol,
            labels: stored.labels, weight: stored.weight, health: Instance.Health(rawValue: stored.health) ?? .unhealthy,
            revision: stored.revision, mutualTLS: stored.mutualTLS, adminAddress: stored.adminAddress)
    }
}
