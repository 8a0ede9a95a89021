import HeddleAPI
import HeddleCore
import HeddlePolicy

/// The admin endpoint's `/endpoints?service=NAME`: each endpoint of a service this proxy sends
/// to, with its state on every worker merged (ejected if any worker holds it out).
enum EndpointStates {
    /// One worker's view; nil when the worker does not know the service.
    static func onWorker(service name: String, loop: LoopContext, now: UInt64) -> [EndpointState]? {
        guard let index = loop.snapshot.services.firstIndex(where: { $0.name == name }), index < loop.destinations.count else { return nil }
        return onWorker(serviceIndex: index, loop: loop, now: now)
    }

    /// One worker's view of the service at `index` in its snapshot (which must be in range).
    static func onWorker(serviceIndex index: Int, loop: LoopContext, now: UInt64) -> [EndpointState] {
        let snapshot = loop.snapshot
        let service = snapshot.services[index]
        let destination = loop.destinations[index]
        let unhealthy = loop.unhealthyKeys[service.name] ?? []
        let instant = Instant(nanoseconds: now)
        return service.endpoints.enumerated().map { offset, endpoint in
            var state = unhealthy.contains(endpoint.key) ? "unhealthy" : "available"
            var ejectedFor: Double?
            var ejecting = 0
            if destination.outlierDetection, destination.outliers.isEjected(offset, now: instant) {
                state = "ejected"
                ejecting = 1
                ejectedFor = destination.outliers.ejectedUntil(offset).map { Double($0.nanoseconds &- instant.nanoseconds) / 1e9 }
            }
            return EndpointState(
                address: endpoint.key, identity: endpoint.identity, weight: endpoint.weight, state: state, ejectedForSeconds: ejectedFor,
                workersEjecting: ejecting, workers: 1)
        }
    }

    /// The workers' views merged by address: ejected wins over unhealthy over available.
    static func merged(_ views: [[EndpointState]]) -> [EndpointState] {
        var order: [String] = []
        var byAddress: [String: EndpointState] = [:]
        for view in views {
            for endpoint in view {
                guard var merged = byAddress[endpoint.address] else {
                    order.append(endpoint.address)
                    byAddress[endpoint.address] = endpoint
                    continue
                }
                merged.workers += endpoint.workers
                merged.workersEjecting += endpoint.workersEjecting
                if rank(endpoint.state) > rank(merged.state) { merged.state = endpoint.state }
                if let left = endpoint.ejectedForSeconds { merged.ejectedForSeconds = max(merged.ejectedForSeconds ?? 0, left) }
                byAddress[endpoint.address] = merged
            }
        }
        return order.compactMap { byAddress[$0] }
    }

    private static func rank(_ state: String) -> Int {
        switch state {
        case "ejected": 2
        case "unhealthy": 1
        default: 0
        }
    }
}
