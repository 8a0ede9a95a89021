import HeddleAPI
import Testing

@testable import HeddleControlPlane

/// `heddle top`'s arithmetic: two readings of the mesh's proxies become rates per service and
/// route, without sockets.
@Suite("Top calculator")
struct TopCalculatorTests {
    /// A proxy's /metrics text: `requests` by (listener, route, backend) → (2xx, 5xx, all under 1 ms?).
    static func metrics(_ groups: [(listener: String, route: String, backend: String, ok: Int, failed: Int, fast: Int)], retries: [String: Int] = [:], inFlight: [String: Int] = [:], ejected: [String: Int] = [:]) -> String {
        var lines: [String] = []
        for group in groups {
            let labels = "listener=\"\(group.listener)\",route=\"\(group.route)\",backend=\"\(group.backend)\""
            lines.append("heddle_requests_total{\(labels),status_class=\"2xx\"} \(group.ok)")
            lines.append("heddle_requests_total{\(labels),status_class=\"5xx\"} \(group.failed)")
            lines.append("heddle_request_duration_seconds_bucket{\(labels),le=\"0.001\"} \(group.fast)")
            lines.append("heddle_request_duration_seconds_bucket{\(labels),le=\"0.1\"} \(group.ok + group.failed)")
            lines.append("heddle_request_duration_seconds_bucket{\(labels),le=\"+Inf\"} \(group.ok + group.failed)")
        }
        for (service, count) in retries { lines.append("heddle_retries_total{service=\"\(service)\",reason=\"reset\"} \(count)") }
        for (service, count) in inFlight { lines.append("heddle_requests_in_flight{service=\"\(service)\"} \(count)") }
        for (service, count) in ejected { lines.append("heddle_endpoints_ejected{service=\"\(service)\"} \(count)") }
        return lines.joined(separator: "\n") + "\n"
    }

    let start = ContinuousClock.now
    let instances = [
        Instance(id: "web-1", service: "web", address: "10.0.0.1", port: 4143, adminAddress: "10.0.0.1:4191"),
        Instance(id: "api-1", service: "api", address: "10.0.0.2", port: 4143, adminAddress: "10.0.0.2:4191"),
        Instance(id: "api-2", service: "api", address: "10.0.0.3", port: 4143, health: .unhealthy, adminAddress: "10.0.0.3:4191"),
    ]
    let services = [
        ServiceSummary(name: "web", declared: true, healthyInstances: 1, totalInstances: 1),
        ServiceSummary(name: "api", declared: true, healthyInstances: 1, totalInstances: 2),
        ServiceSummary(name: "idle", declared: true, healthyInstances: 0, totalInstances: 0),
    ]

    @Test("Rates, success and latency per service (callers' view and inbound), per route, over the window")
    func ratesPerServiceAndRoute() throws {
        let earlier = MeshReading(time: start, proxies: [
            "web-1": ProxyReading(prometheusText: Self.metrics([("outbound", "api#0", "api", 100, 0, 100)], retries: ["api": 1])),
            "api-1": ProxyReading(prometheusText: Self.metrics([("inbound", "inbound#0", "app", 50, 0, 50)])),
            "api-2": ProxyReading(prometheusText: Self.metrics([("inbound", "inbound#0", "app", 50, 0, 50)])),
        ], unreachable: [])
        // 10 s later: web sent api 200 more (10 failed, half of them slower than 1 ms), with 5
        // retries; api-2's proxy restarted (its counters start again from 20).
        let later = MeshReading(time: start + .seconds(10), proxies: [
            "web-1": ProxyReading(prometheusText: Self.metrics([("outbound", "api#0", "api", 290, 10, 200)], retries: ["api": 6], inFlight: ["api": 3], ejected: ["api": 1])),
            "api-1": ProxyReading(prometheusText: Self.metrics([("inbound", "inbound#0", "app", 150, 0, 150)])),
            "api-2": ProxyReading(prometheusText: Self.metrics([("inbound", "inbound#0", "app", 20, 0, 20)])),
        ], unreachable: ["gone-1"])
        let report = TopCalculator.report(from: earlier, to: later, instances: instances, services: services)
        #expect(report.windowSeconds == 10)
        #expect(report.proxiesRead == 3)
        #expect(report.proxiesUnreachable == ["gone-1"])
        #expect(report.services.map(\.name) == ["api", "idle", "web"], "every service, with or without traffic")
        let api = try #require(report.services.first { $0.name == "api" })
        #expect(api.callers.requestsPerSecond == 20)
        #expect(api.callers.successRate == 0.95)
        #expect(api.inbound.requestsPerSecond == 12, "100 from api-1 and 20 from the restarted api-2, over 10 s")
        #expect(api.inbound.successRate == 1)
        #expect(api.retriesPerSecond == 0.5)
        #expect(api.inFlight == 3)
        #expect(api.ejectedEndpoints == 1)
        #expect(api.healthyInstances == 1 && api.instances == 2)
        let p50 = try #require(api.callers.p50Milliseconds)
        let p99 = try #require(api.callers.p99Milliseconds)
        #expect(p50 <= 1, "half of the 200 were under 1 ms: \(p50)")
        #expect(p99 > 1 && p99 <= 100, "\(p99)")
        let idle = try #require(report.services.first { $0.name == "idle" })
        #expect(idle.callers == .idle && idle.inbound == .idle && idle.inFlight == 0)
        #expect(report.routes == [RouteTraffic(route: "api#0", backend: "api", signals: api.callers)])
    }

    @Test("A proxy first seen in the later reading counts from zero; a service only callers know is listed")
    func newProxy() throws {
        let earlier = MeshReading(time: start, proxies: [:], unreachable: [])
        let later = MeshReading(time: start + .seconds(2), proxies: [
            "web-1": ProxyReading(prometheusText: Self.metrics([("outbound", "ext#0", "external", 4, 0, 4)])),
        ], unreachable: [])
        let report = TopCalculator.report(from: earlier, to: later, instances: instances, services: services)
        let external = try #require(report.services.first { $0.name == "external" })
        #expect(external.callers.requestsPerSecond == 2)
        #expect(external.instances == 0)
    }

    @Test("The service graph: an edge per calling and called service with traffic; certificates soonest first")
    func serviceGraphAndCertificates() throws {
        let earlier = MeshReading(time: start, proxies: [
            "web-1": ProxyReading(prometheusText: Self.metrics([("outbound", "api#0", "api", 100, 0, 100), ("outbound", "old#0", "old", 7, 0, 7)])),
        ], unreachable: [])
        let later = MeshReading(time: start + .seconds(10), proxies: [
            "web-1": ProxyReading(prometheusText: Self.metrics([("outbound", "api#0", "api", 180, 20, 200), ("outbound", "old#0", "old", 7, 0, 7)])
                + "heddle_certificate_expiry_timestamp_seconds 1900000000\n"),
            "api-1": ProxyReading(prometheusText: Self.metrics([("outbound", "db#0", "db", 10, 0, 10), ("inbound", "inbound#0", "app", 100, 0, 100)])
                + "heddle_certificate_expiry_timestamp_seconds 1800000000\n"),
            "api-2": ProxyReading(prometheusText: "heddle_certificate_expiry_timestamp_seconds 0\n"),
        ], unreachable: [])
        let report = TopCalculator.report(from: earlier, to: later, instances: instances, services: services)
        #expect(report.edges.map { "\($0.source)->\($0.destination)" } == ["api->db", "web->api"], "no edge for 'old', idle in the window, nor for inbound traffic")
        let webToAPI = try #require(report.edges.last)
        #expect(webToAPI.signals.requestsPerSecond == 10)
        #expect(webToAPI.signals.successRate == 0.8)
        #expect(report.edges.first?.signals.requestsPerSecond == 1, "api-1's proxy is new: it counts from zero")
        #expect(report.certificates == [
            WorkloadCertificate(instance: "api-1", service: "api", notAfter: 1_800_000_000),
            WorkloadCertificate(instance: "web-1", service: "web", notAfter: 1_900_000_000),
            WorkloadCertificate(instance: "api-2", service: "api", notAfter: nil),
        ])
    }
}
