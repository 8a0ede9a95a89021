import HeddleCore
import HeddlePolicy
import Logging
import NIOCore

/// Active health checks: probes every endpoint of each service that has a `healthCheck`, each
/// on its own `HealthCheckSchedule`, and keeps a `HealthCheckState` per endpoint. When an
/// endpoint changes standing it logs and counts the change, and hands the service's set of
/// unhealthy endpoint keys to `report` (the proxy passes it to every event loop, whose
/// balancers then pass over those endpoints).
///
/// Follows the configuration: `update` with each new snapshot's services probes new services
/// and endpoints, drops those that are gone, and restarts a service whose check changed
/// (keeping each endpoint's standing, so a known-bad endpoint gets no traffic back until a
/// probe under the new settings passes). Runs on one event loop and is touched only there, so
/// it takes no lock; it is `Sendable` only so the proxy can hand it to that loop.
final class HealthChecker: @unchecked Sendable {
    typealias Report = (_ service: String, _ unhealthy: Set<String>) -> Void

    let eventLoop: any EventLoop
    private let prober: any HealthProber
    private let metrics: ProxyMetrics
    private let logger: Logger
    private let report: Report
    private var random: Xoshiro256StarStar
    private var phase = Phase.idle
    private var generation = Int.min
    private var services: [String: ServiceChecks] = [:]

    private enum Phase {
        /// Services are known but not probed yet.
        case idle
        case running
        /// Stopped for good; updates are ignored.
        case stopped
    }

    /// One service's checks.
    private struct ServiceChecks {
        var definition: HealthCheckedService
        var schedule: HealthCheckSchedule
        var endpoints: [String: EndpointCheck]
        /// The unhealthy keys last reported.
        var reported: Set<String> = []

        var unhealthy: Set<String> {
            Set(endpoints.values.lazy.filter { !$0.state.isHealthy }.map(\.target.endpoint.key))
        }
    }

    /// One endpoint's checks: its standing, the timer of its next probe and the probe in flight.
    private final class EndpointCheck {
        let target: HealthProbeTarget
        var state: HealthCheckState
        var timer: Scheduled<Void>?
        var running: RunningHealthProbe?
        /// The next probe came due while one was still in flight; it starts when that one ends.
        var due = false
        /// Dropped by a reload or stopped: its timer and outcomes are ignored.
        var retired = false

        init(target: HealthProbeTarget, state: HealthCheckState) {
            self.target = target
            self.state = state
        }

        func retire() {
            retired = true
            timer?.cancel()
            timer = nil
            running?.cancel()
        }
    }

    init(eventLoop: any EventLoop, prober: any HealthProber = SocketHealthProber(), metrics: ProxyMetrics, logger: Logger, seed: UInt64, report: @escaping Report) {
        self.eventLoop = eventLoop
        self.prober = prober
        self.metrics = metrics
        self.logger = logger
        self.report = report
        random = Xoshiro256StarStar(seed: seed)
    }

    /// Endpoints currently held unhealthy, by service (services with none left out).
    var unhealthyEndpoints: [String: Set<String>] {
        services.compactMapValues { $0.unhealthy.isEmpty ? nil : $0.unhealthy }
    }

    /// Probes in flight (for tests and shutdown).
    var probesInFlight: Int {
        services.values.reduce(0) { sum, service in sum + service.endpoints.values.filter { $0.running != nil }.count }
    }

    /// Starts probing; each endpoint's first probe comes within its first interval.
    func start() {
        eventLoop.preconditionInEventLoop()
        guard phase == .idle else { return }
        phase = .running
        for service in services.values {
            for check in service.endpoints.values { scheduleFirst(check, service.schedule) }
        }
    }

    /// Takes the health-checked services of configuration `generation`; an older generation
    /// than the last one seen is ignored (reloads and DNS refreshes may arrive out of order).
    func update(_ definitions: [HealthCheckedService], generation: Int) {
        eventLoop.preconditionInEventLoop()
        guard phase != .stopped, generation >= self.generation else { return }
        self.generation = generation
        let wanted = Dictionary(definitions.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for name in services.keys where wanted[name] == nil {
            guard let removed = services.removeValue(forKey: name) else { continue }
            for check in removed.endpoints.values { check.retire() }
            if !removed.reported.isEmpty { report(name, []) }
            metrics.setUnhealthyEndpoints(service: name, count: 0)
            logger.debug("health checks stopped", metadata: ["service": "\(name)"])
        }
        for (name, definition) in wanted.sorted(by: { $0.key < $1.key }) {
            if var service = services[name] {
                guard service.definition != definition else { continue }
                let restart = service.definition.spec != definition.spec || service.definition.kind != definition.kind
                service.endpoints = endpointChecks(for: definition, from: service.endpoints, restart: restart)
                service.definition = definition
                service.schedule = HealthCheckSchedule(interval: definition.spec.interval)
                services[name] = service
                publish(name)
            } else {
                services[name] = ServiceChecks(
                    definition: definition, schedule: HealthCheckSchedule(interval: definition.spec.interval),
                    endpoints: endpointChecks(for: definition, from: [:], restart: false))
                metrics.setUnhealthyEndpoints(service: name, count: 0)
                logger.debug("health checks started", metadata: ["service": "\(name)", "endpoints": "\(definition.endpoints.count)"])
            }
        }
    }

    /// The checks of `definition`'s endpoints: those in `existing` carry on (restarted with
    /// their standing kept when `restart`), new ones start healthy, and the rest are retired.
    private func endpointChecks(for definition: HealthCheckedService, from existing: [String: EndpointCheck], restart: Bool) -> [String: EndpointCheck] {
        var result: [String: EndpointCheck] = [:]
        let schedule = HealthCheckSchedule(interval: definition.spec.interval)
        for endpoint in definition.endpoints where result[endpoint.key] == nil {
            if let check = existing[endpoint.key], !restart {
                result[endpoint.key] = check
                continue
            }
            let previous = existing[endpoint.key]
            previous?.retire()
            let check = EndpointCheck(target: definition.target(endpoint), state: HealthCheckState(
                unhealthyThreshold: definition.spec.unhealthyThreshold, healthyThreshold: definition.spec.healthyThreshold,
                startsHealthy: previous?.state.isHealthy ?? true))
            result[endpoint.key] = check
            if phase == .running { scheduleFirst(check, schedule) }
        }
        for (key, check) in existing where result[key] !== check {
            check.retire()
        }
        return result
    }

    /// Stops every probe and timer for good; the future completes once the probes in flight
    /// have closed their connections.
    func stop() -> EventLoopFuture<Void> {
        eventLoop.preconditionInEventLoop()
        phase = .stopped
        var ending: [EventLoopFuture<HealthProbeOutcome>] = []
        for service in services.values {
            for check in service.endpoints.values {
                if let running = check.running { ending.append(running.outcome) }
                check.retire()
            }
        }
        services = [:]
        return EventLoopFuture.andAllComplete(ending, on: eventLoop)
    }

    private func scheduleFirst(_ check: EndpointCheck, _ schedule: HealthCheckSchedule) {
        arm(check, in: schedule.firstDelay(using: &random))
    }

    private func arm(_ check: EndpointCheck, in delay: Duration) {
        let bound = NIOLoopBound((self, check), eventLoop: eventLoop)
        check.timer = eventLoop.scheduleTask(in: .nanoseconds(delay.nanosecondsClamped)) {
            let (checker, check) = bound.value
            checker.due(check)
        }
    }

    /// The time for `check`'s next probe has come.
    private func due(_ check: EndpointCheck) {
        check.timer = nil
        guard !check.retired, phase == .running else { return }
        if check.running != nil {
            check.due = true
        } else {
            probe(check)
        }
    }

    private func probe(_ check: EndpointCheck) {
        guard let schedule = services[check.target.service]?.schedule else { return }
        arm(check, in: schedule.nextDelay(using: &random))
        let running = prober.probe(check.target, on: eventLoop)
        check.running = running
        let bound = NIOLoopBound((self, check), eventLoop: eventLoop)
        running.outcome.hop(to: eventLoop).whenComplete { result in
            let (checker, check) = bound.value
            checker.finished(check, (try? result.get()) ?? .failed("probe failed"))
        }
    }

    private func finished(_ check: EndpointCheck, _ outcome: HealthProbeOutcome) {
        check.running = nil
        guard !check.retired, phase == .running else { return }
        let service = check.target.service
        let endpoint = check.target.endpoint.key
        logger.trace("health probe", metadata: ["service": "\(service)", "endpoint": "\(endpoint)", "outcome": "\(outcome)"])
        let transition = outcome.passed ? check.state.recordSuccess() : check.state.recordFailure()
        if let transition {
            let healthy = transition == .becameHealthy
            logger.notice(healthy ? "endpoint healthy again" : "endpoint unhealthy", metadata: [
                "service": "\(service)", "endpoint": "\(endpoint)", "reason": "\(outcome.reason)",
            ])
            metrics.recordHealthTransition(service: service, healthy: healthy)
            publish(service)
        }
        if check.due {
            check.due = false
            probe(check)
        }
    }

    /// Reports `service`'s unhealthy endpoints when they differ from those last reported.
    private func publish(_ name: String) {
        guard var service = services[name] else { return }
        let unhealthy = service.unhealthy
        guard unhealthy != service.reported else { return }
        service.reported = unhealthy
        services[name] = service
        metrics.setUnhealthyEndpoints(service: name, count: unhealthy.count)
        report(name, unhealthy)
    }
}
