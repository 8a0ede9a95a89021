import AsyncHTTPClient
import HeddleAPI
import NIOCore
import NIOHTTP1

/// Reads every registered proxy's `/metrics` (at the admin address its sidecar registered) and
/// keeps the last minute of readings, so `GET /v1/top` can report rates over a window. Readings
/// start when someone asks and go on every second while anyone keeps asking (a minute after
/// the last question they stop): with no one watching, the control plane reads nothing.
actor MeshStatsGatherer {
    let client: HTTPClient
    private var history: [MeshReading] = []
    /// A reading in progress, which concurrent callers share.
    private var pending: Task<MeshReading, Never>?
    let timeout: Duration
    private var lastAsked = ContinuousClock.now
    private var watching: Task<Void, Never>?
    /// Who the readings are of: updated with each question.
    private var instances: [Instance] = []

    init(client: HTTPClient = .shared, timeout: Duration = .seconds(1)) {
        self.client = client
        self.timeout = timeout
    }

    /// The traffic over about `window` (at least one second: with a single reading the
    /// gatherer takes a second one a second later).
    func top(window: Duration, instances: [Instance], services: [ServiceSummary]) async -> TopReport {
        self.instances = instances
        lastAsked = .now
        if watching == nil {
            watching = Task { await self.keepReading() }
        }
        let latest = await reading(instances: instances)
        let target = latest.time - window
        var earlier = history.last { $0.time <= target } ?? history.first { $0.time < latest.time - .milliseconds(900) }
        var later = latest
        if earlier == nil {
            try? await Task.sleep(for: .seconds(1))
            earlier = latest
            later = await reading(instances: instances)
        }
        return TopCalculator.report(from: earlier ?? later, to: later, instances: instances, services: services)
    }

    /// The latest reading of `instances`' proxies, at most half a second old.
    func latest(instances: [Instance]) async -> MeshReading {
        await reading(instances: instances)
    }

    /// Reads every second until no one has asked for a minute.
    private func keepReading() async {
        while ContinuousClock.now - lastAsked < .seconds(60), !Task.isCancelled {
            _ = await reading(instances: instances)
            try? await Task.sleep(for: .seconds(1))
        }
        watching = nil
    }

    /// A new reading, unless one was taken less than half a second ago (concurrent callers
    /// share it, and an answer is never more than half a second behind).
    private func reading(instances: [Instance]) async -> MeshReading {
        if let last = history.last, ContinuousClock.now - last.time < .milliseconds(500) { return last }
        if let pending { return await pending.value }
        let task = Task { [client, timeout] in await Self.read(instances, client: client, timeout: timeout) }
        pending = task
        let reading = await task.value
        pending = nil
        history.append(reading)
        history.removeAll { reading.time - $0.time > .seconds(60) }
        return reading
    }

    private static func read(_ instances: [Instance], client: HTTPClient, timeout: Duration) async -> MeshReading {
        let time = ContinuousClock.now
        var proxies: [String: ProxyReading] = [:]
        var unreachable: [String] = []
        await withTaskGroup(of: (String, ProxyReading?).self) { group in
            for instance in instances {
                guard let admin = instance.adminAddress else {
                    unreachable.append(instance.id)
                    continue
                }
                group.addTask {
                    var request = HTTPClientRequest(url: "http://\(admin)/metrics")
                    request.method = .GET
                    guard let response = try? await client.execute(request, timeout: .init(timeout)), response.status.code == 200,
                          let body = try? await response.body.collect(upTo: 16 << 20)
                    else { return (instance.id, nil) }
                    return (instance.id, ProxyReading(prometheusText: String(buffer: body)))
                }
            }
            for await (id, reading) in group {
                if let reading { proxies[id] = reading } else { unreachable.append(id) }
            }
        }
        return MeshReading(time: time, proxies: proxies, unreachable: unreachable)
    }
}
