import HeddleAPI
import HeddleCore
import HeddleStats

/// Turns two readings of the mesh into `heddle top`'s report: counters subtracted proxy by
/// proxy (a proxy that restarted in between counts from zero), summed per service and route.
/// Pure, so it is tested without sockets.
enum TopCalculator {
    /// `instances`: every registered instance (its service, health, and whose proxy each
    /// reading's key is); `services`: every service to list, with or without traffic.
    static func report(from earlier: MeshReading, to later: MeshReading, instances: [Instance], services: [ServiceSummary]) -> TopReport {
        let seconds = max(Double((later.time - earlier.time).nanosecondsClamped) / 1e9, 0.001)
        let serviceOf = Dictionary(instances.map { ($0.id, $0.service) }, uniquingKeysWith: { first, _ in first })
        var callers: [String: RequestCounters] = [:]
        var inbound: [String: RequestCounters] = [:]
        var routes: [RouteKey: RequestCounters] = [:]
        var edges: [EdgeKey: RequestCounters] = [:]
        var certificates: [WorkloadCertificate] = []
        var retries: [String: Double] = [:]
        var inFlight: [String: Double] = [:]
        var ejected: [String: Double] = [:]
        for (id, now) in later.proxies {
            let before = earlier.proxies[id] ?? ProxyReading()
            if let service = serviceOf[id] {
                certificates.append(WorkloadCertificate(instance: id, service: service, notAfter: now.certificateNotAfter))
            }
            for (key, counters) in now.traffic.groups {
                let delta = Self.delta(counters, since: before.traffic.groups[key])
                if key.listener == "inbound" {
                    guard let service = serviceOf[id] else { continue }
                    inbound[service] = (inbound[service] ?? RequestCounters()) + delta
                } else {
                    callers[key.backend] = (callers[key.backend] ?? RequestCounters()) + delta
                    let route = RouteKey(route: key.route, backend: key.backend)
                    routes[route] = (routes[route] ?? RequestCounters()) + delta
                    if let source = serviceOf[id], delta.requests > 0 {
                        let edge = EdgeKey(source: source, destination: key.backend)
                        edges[edge] = (edges[edge] ?? RequestCounters()) + delta
                    }
                }
            }
            for (service, count) in now.retries {
                let previous = before.retries[service] ?? 0
                retries[service, default: 0] += count >= previous ? count - previous : count
            }
            for (service, count) in now.inFlight where service != "app" {
                inFlight[service, default: 0] += max(count, 0)
            }
            for (service, count) in now.ejected {
                ejected[service] = max(ejected[service] ?? 0, count)
            }
        }
        var names = Set(services.map(\.name))
        names.formUnion(callers.keys)
        let summaries = Dictionary(services.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let serviceRows = names.sorted().map { name in
            ServiceTraffic(
                name: name, healthyInstances: summaries[name]?.healthyInstances ?? 0, instances: summaries[name]?.totalInstances ?? 0,
                callers: signals(callers[name], seconds: seconds), inbound: signals(inbound[name], seconds: seconds),
                inFlight: Int((inFlight[name] ?? 0).rounded()), retriesPerSecond: (retries[name] ?? 0) / seconds,
                ejectedEndpoints: Int((ejected[name] ?? 0).rounded()))
        }
        let routeRows = routes.keys.sorted().map { key in
            RouteTraffic(route: key.route, backend: key.backend, signals: signals(routes[key], seconds: seconds))
        }
        let edgeRows = edges.keys.sorted().map { key in
            ServiceEdge(source: key.source, destination: key.destination, signals: signals(edges[key], seconds: seconds))
        }
        certificates.sort { ($0.notAfter ?? .max, $0.instance) < ($1.notAfter ?? .max, $1.instance) }
        return TopReport(
            windowSeconds: seconds, services: serviceRows, routes: routeRows, edges: edgeRows, certificates: certificates,
            proxiesRead: later.proxies.count, proxiesUnreachable: later.unreachable.sorted())
    }

    private struct EdgeKey: Hashable, Comparable {
        var source: String
        var destination: String

        static func < (lhs: Self, rhs: Self) -> Bool { (lhs.source, lhs.destination) < (rhs.source, rhs.destination) }
    }

    private struct RouteKey: Hashable, Comparable {
        var route: String
        var backend: String

        static func < (lhs: Self, rhs: Self) -> Bool { (lhs.route, lhs.backend) < (rhs.route, rhs.backend) }
    }

    /// `counters` minus `earlier`; a counter that went down was reset (the proxy restarted),
    /// and counts from zero.
    private static func delta(_ counters: RequestCounters, since earlier: RequestCounters?) -> RequestCounters {
        guard let earlier else { return counters }
        return counters.requests >= earlier.requests ? counters.since(earlier) : counters
    }

    static func signals(_ counters: RequestCounters?, seconds: Double) -> GoldenSignals {
        guard let counters, counters.requests > 0 else { return .idle }
        let golden = GoldenMetrics(traffic: counters, seconds: seconds)
        return GoldenSignals(
            requestsPerSecond: golden.requestsPerSecond, successRate: golden.successRate,
            p50Milliseconds: golden.p50.map { $0 * 1000 }, p99Milliseconds: golden.p99.map { $0 * 1000 })
    }
}
