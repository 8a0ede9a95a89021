import AsyncHTTPClient
import Foundation
import HeddleStats
import NIOCore
import NIOHTTP1

/// One reading of every sidecar's `/metrics`, taken at `time`.
struct MeshScrape: Sendable {
    let time: ContinuousClock.Instant
    /// Request counters by instance name.
    var traffic: [String: TrafficReading] = [:]
    /// Retries sent by all sidecars so far.
    var retries: Double = 0
    /// Outlier ejections by all sidecars so far.
    var ejections: Double = 0
    /// Endpoints out of rotation now, summed over sidecars (and their event loops).
    var ejected: Double = 0

    /// Reads every member's admin endpoint; a sidecar that does not answer is left out of
    /// this reading.
    static func take(_ members: [DemoMesh.Member], http: HTTPClient) async -> MeshScrape {
        var scrape = MeshScrape(time: .now)
        await withTaskGroup(of: (String, [MetricSample])?.self) { group in
            for member in members {
                guard let port = member.adminPort else { continue }
                group.addTask {
                    let request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics")
                    guard let response = try? await http.execute(request, timeout: .seconds(1)), response.status == .ok,
                        let body = try? await response.body.collect(upTo: 8 << 20)
                    else { return nil }
                    return (member.instance.name, PrometheusText.parse(String(buffer: body)).samples)
                }
            }
            for await case let (name, samples)? in group {
                scrape.traffic[name] = TrafficReading(samples: samples)
                for sample in samples {
                    switch sample.name {
                    case "heddle_retries_total": scrape.retries += sample.value
                    case "heddle_outlier_ejections_total": scrape.ejections += sample.value
                    case "heddle_endpoints_ejected": scrape.ejected += sample.value
                    default: break
                    }
                }
            }
        }
        return scrape
    }

    /// Outbound traffic of every sidecar, summed by route and backend: each service as its
    /// callers see it.
    var byRoute: [RouteBackend: RequestCounters] {
        var result: [RouteBackend: RequestCounters] = [:]
        for reading in traffic.values {
            for (key, counters) in reading.summed(by: { $0.listener == "outbound" ? RouteBackend(route: Self.routeName($0.route), backend: $0.backend) : nil }) {
                result[key] = (result[key] ?? RequestCounters()) + counters
            }
        }
        return result
    }

    /// Inbound traffic of each instance, as its own sidecar saw it.
    var byInstance: [String: RequestCounters] {
        traffic.compactMapValues { reading in
            reading.summed(by: { $0.listener == "inbound" ? "app" : nil })["app"]
        }
    }

    /// `users#0` reads `users`; later rules keep their index.
    static func routeName(_ label: String) -> String {
        label.hasSuffix("#0") ? String(label.dropLast(2)) : label
    }
}

/// A route and one of its backends.
struct RouteBackend: Hashable, Comparable, Sendable {
    let route: String
    let backend: String

    static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.route, lhs.backend) < (rhs.route, rhs.backend)
    }
}
