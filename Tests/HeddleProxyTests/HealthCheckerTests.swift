import HeddleCore
import Logging
import NIOCore
import NIOEmbedded
import Prometheus
import Testing

@testable import HeddleProxy

/// `HealthChecker` on a virtual clock, with probes answered by hand: the schedule, thresholds,
/// what it reports to the loops, reloads and stopping.
@Suite("HealthChecker")
struct HealthCheckerTests {
    /// Answers probes with `answer` (nil leaves the probe hanging until it is cancelled) and
    /// records each one.
    final class FakeProber: HealthProber {
        var answer: (HealthProbeTarget) -> HealthProbeOutcome? = { _ in .passed("status 200") }
        private(set) var started: [(target: HealthProbeTarget, at: NIODeadline)] = []
        private(set) var hanging: [EventLoopPromise<HealthProbeOutcome>] = []
        private(set) var cancelled = 0

        func probe(_ target: HealthProbeTarget, on eventLoop: any EventLoop) -> RunningHealthProbe {
            started.append((target, (eventLoop as! EmbeddedEventLoop).now))
            if let outcome = answer(target) {
                return RunningHealthProbe(outcome: eventLoop.makeSucceededFuture(outcome)) {}
            }
            let promise = eventLoop.makePromise(of: HealthProbeOutcome.self)
            hanging.append(promise)
            var done = false
            return RunningHealthProbe(outcome: promise.futureResult) { [unowned self] in
                guard !done else { return }
                done = true
                self.cancelled += 1
                promise.succeed(.failed("cancelled"))
            }
        }

        func probes(of key: String) -> Int {
            started.filter { $0.target.endpoint.key == key }.count
        }
    }

    let loop = EmbeddedEventLoop()
    let prober = FakeProber()
    let metrics = ProxyMetrics()
    let reports = ReportLog()

    final class ReportLog: @unchecked Sendable {
        var entries: [(service: String, unhealthy: Set<String>)] = []
    }

    func makeChecker() -> HealthChecker {
        let reports = self.reports
        return HealthChecker(eventLoop: loop, prober: prober, metrics: metrics, logger: Logger(label: "test"), seed: 42) { service, unhealthy in
            reports.entries.append((service, unhealthy))
        }
    }

    static func endpoint(_ last: Int) -> ResolvedEndpoint {
        ResolvedEndpoint(address: try! SocketAddress(ipAddress: "10.0.0.\(last)", port: 80), weight: 1, configured: HostPort(host: "10.0.0.\(last)", port: 80))
    }

    static func service(
        _ name: String = "web", endpoints: [Int], interval: Duration = .seconds(1), probe: HealthCheckSpec.Probe = .http(path: "/health"),
        healthy: Int = 2, unhealthy: Int = 2
    ) -> HealthCheckedService {
        let spec = HealthCheckSpec(probe: probe, interval: interval, timeout: .milliseconds(500), healthyThreshold: healthy, unhealthyThreshold: unhealthy)
        return HealthCheckedService(name: name, spec: spec, kind: HealthCheckedService.kind(probe, protocol: .http1), endpoints: endpoints.map(endpoint))
    }

    func metric(_ prefix: String) -> Double? {
        var bytes: [UInt8] = []
        metrics.registry.emit(into: &bytes)
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasPrefix(prefix + " ") {
            return Double(line.dropFirst(prefix.count + 1))
        }
        return nil
    }

    @Test("Nothing is probed before start; then every endpoint once per interval, the first probes spread")
    func schedule() {
        let checker = makeChecker()
        checker.update([Self.service(endpoints: [1, 2, 3, 4])], generation: 1)
        loop.advanceTime(by: .seconds(5))
        #expect(prober.started.isEmpty)
        let start = loop.now
        checker.start()
        loop.advanceTime(by: .milliseconds(999))
        // Each endpoint's first probe fell somewhere in the first interval, not all at once.
        #expect((1...4).allSatisfy { prober.probes(of: "10.0.0.\($0):80") == 1 })
        #expect(Set(prober.started.map(\.at)).count == 4)
        loop.advanceTime(to: start + .seconds(11))
        for index in 1...4 {
            let count = prober.probes(of: "10.0.0.\(index):80")
            #expect(count >= 10 && count <= 12, "10.0.0.\(index): \(count) probes in 11 s at 1 s (+10 %)")
        }
        #expect(prober.started.allSatisfy { $0.target.kind == .http1(path: "/health") && $0.target.service == "web" && $0.target.timeout == .milliseconds(500) })
        #expect(reports.entries.isEmpty)
        #expect(metric(#"heddle_endpoints_unhealthy{service="web"}"#) == 0)
        _ = checker.stop()
    }

    @Test("Failures in a row make an endpoint unhealthy, passes make it healthy again; each change is reported and counted")
    func thresholds() {
        let checker = makeChecker()
        var failing: Set<String> = ["10.0.0.2:80"]
        prober.answer = { target in failing.contains(target.endpoint.key) ? .failed("status 503") : .passed("status 200") }
        checker.update([Self.service(endpoints: [1, 2])], generation: 1)
        checker.start()
        // One failure is not enough (threshold 2).
        loop.advanceTime(by: .seconds(1))
        #expect(reports.entries.isEmpty)
        loop.advanceTime(by: .milliseconds(1100))
        #expect(reports.entries.count == 1)
        #expect(reports.entries.last?.service == "web" && reports.entries.last?.unhealthy == ["10.0.0.2:80"])
        #expect(checker.unhealthyEndpoints == ["web": ["10.0.0.2:80"]])
        #expect(metric(#"heddle_endpoints_unhealthy{service="web"}"#) == 1)
        #expect(metric(#"heddle_health_check_transitions_total{service="web",to="unhealthy"}"#) == 1)
        // More failures change nothing.
        loop.advanceTime(by: .seconds(5))
        #expect(reports.entries.count == 1)
        failing = []
        loop.advanceTime(by: .milliseconds(2200))
        #expect(reports.entries.count == 2)
        #expect(reports.entries.last?.unhealthy == [])
        #expect(checker.unhealthyEndpoints.isEmpty)
        #expect(metric(#"heddle_endpoints_unhealthy{service="web"}"#) == 0)
        #expect(metric(#"heddle_health_check_transitions_total{service="web",to="healthy"}"#) == 1)
        _ = checker.stop()
    }

    @Test("A probe slower than the interval delays the next one instead of overlapping it")
    func noOverlap() {
        let checker = makeChecker()
        prober.answer = { _ in nil }
        checker.update([Self.service(endpoints: [1])], generation: 1)
        checker.start()
        loop.advanceTime(by: .seconds(5))
        #expect(prober.started.count == 1)
        #expect(checker.probesInFlight == 1)
        prober.answer = { _ in .passed("status 200") }
        prober.hanging[0].succeed(.failed("no answer within 500ms"))
        // The overdue probe starts as soon as the slow one ends.
        #expect(prober.started.count == 2)
        #expect(prober.started[1].at == loop.now)
        _ = checker.stop()
    }

    @Test("A reload probes new endpoints and services, drops removed ones and withdraws their marks")
    func reload() {
        let checker = makeChecker()
        var failing: Set<String> = ["10.0.0.2:80", "10.0.0.9:80"]
        prober.answer = { target in
            if target.endpoint.key == "10.0.0.3:80" { return nil }
            return failing.contains(target.endpoint.key) ? .failed("connect failed") : .passed("connected")
        }
        checker.update([Self.service(endpoints: [1, 2, 3]), Self.service("db", endpoints: [9], probe: .tcp)], generation: 1)
        checker.start()
        loop.advanceTime(by: .milliseconds(2200))
        #expect(checker.unhealthyEndpoints == ["web": ["10.0.0.2:80"], "db": ["10.0.0.9:80"]])
        #expect(checker.probesInFlight == 1)
        // web loses endpoints 2 (unhealthy) and 3 (probe in flight) and gains 4; db loses its check.
        reports.entries = []
        failing = []
        checker.update([Self.service(endpoints: [1, 4])], generation: 2)
        #expect(prober.cancelled == 1)
        #expect(checker.probesInFlight == 0)
        #expect(Set(reports.entries.map(\.service)) == ["web", "db"])
        #expect(reports.entries.allSatisfy { $0.unhealthy.isEmpty })
        #expect(checker.unhealthyEndpoints.isEmpty)
        #expect(metric(#"heddle_endpoints_unhealthy{service="db"}"#) == 0)
        let before = prober.started.count
        loop.advanceTime(by: .seconds(3))
        let keys = Set(prober.started.dropFirst(before).map(\.target.endpoint.key))
        #expect(keys == ["10.0.0.1:80", "10.0.0.4:80"])
        _ = checker.stop()
    }

    @Test("A changed check restarts the service's probes and keeps each endpoint's standing")
    func changedCheck() {
        let checker = makeChecker()
        prober.answer = { target in target.endpoint.key == "10.0.0.2:80" ? .failed("status 500") : .passed("status 200") }
        checker.update([Self.service(endpoints: [1, 2])], generation: 1)
        checker.start()
        loop.advanceTime(by: .milliseconds(2200))
        #expect(checker.unhealthyEndpoints == ["web": ["10.0.0.2:80"]])
        let entries = reports.entries.count
        // A new path and interval: probes restart on the new schedule with the new request.
        checker.update([Self.service(endpoints: [1, 2], interval: .seconds(5), probe: .http(path: "/ready"))], generation: 2)
        #expect(checker.unhealthyEndpoints == ["web": ["10.0.0.2:80"]])
        #expect(reports.entries.count == entries)
        // Under the new check, the first passing probe alone brings it back.
        prober.answer = { _ in .passed("status 200") }
        let before = prober.started.count
        loop.advanceTime(by: .seconds(5))
        let restarted = prober.started.dropFirst(before)
        #expect(restarted.count == 2)
        #expect(restarted.allSatisfy { $0.target.kind == .http1(path: "/ready") })
        #expect(checker.unhealthyEndpoints.isEmpty)
        #expect(reports.entries.last?.unhealthy == [])
        _ = checker.stop()
    }

    @Test("A snapshot older than the last one is ignored")
    func outOfOrder() {
        let checker = makeChecker()
        checker.update([Self.service(endpoints: [1, 2])], generation: 3)
        checker.update([Self.service(endpoints: [7])], generation: 2)
        checker.start()
        loop.advanceTime(by: .seconds(1))
        #expect(Set(prober.started.map(\.target.endpoint.key)) == ["10.0.0.1:80", "10.0.0.2:80"])
        _ = checker.stop()
    }

    @Test("Stopping cancels probes in flight and timers; nothing runs after")
    func stop() {
        let checker = makeChecker()
        prober.answer = { target in target.endpoint.key == "10.0.0.1:80" ? nil : .passed("connected") }
        checker.update([Self.service(endpoints: [1, 2], probe: .tcp)], generation: 1)
        checker.start()
        loop.advanceTime(by: .seconds(1))
        #expect(checker.probesInFlight == 1)
        let stopped = ReportLog()
        checker.stop().whenSuccess { stopped.entries.append(("stopped", [])) }
        #expect(prober.cancelled == 1)
        #expect(stopped.entries.count == 1)
        let count = prober.started.count
        checker.update([Self.service(endpoints: [3])], generation: 2)
        checker.start()
        loop.advanceTime(by: .seconds(10))
        #expect(prober.started.count == count)
        #expect(reports.entries.isEmpty)
    }
}
