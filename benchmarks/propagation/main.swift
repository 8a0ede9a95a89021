// Propagation benchmark: the time from `apply` to the last of N watching proxies acknowledging
// the change. The proxies are simulated watch clients — each one long-lived watch stream
// (`GET /v1/watch`) and an acknowledgement (`POST /v1/proxies/{id}/ack`) per push, exactly as a
// sidecar does — against a real control plane (SQLite store in a temporary directory, its
// HTTP API on loopback), all in this process.
//
//   swift run -c release heddle-propagation-bench [--proxies 1000] [--rounds 20]
//
// Prints, per round, the time until the first, median and last proxy acknowledged, then over
// the rounds the p50/p99 of "apply → last ack" and, over every acknowledgement, p50/p99 of
// "apply → this proxy's ack".
import AsyncHTTPClient
import Foundation
import HeddleAPI
import HeddleControlPlane
import HeddleCore
import HeddleSidecar
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

func option(_ name: String, default value: Int) -> Int {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count, let parsed = Int(arguments[index + 1]) else { return value }
    return parsed
}

let proxyCount = option("--proxies", default: 1000)
let rounds = option("--rounds", default: 20)
var logger = Logger(label: "bench")
logger.logLevel = .error

/// When each proxy acknowledged each version.
final class AckLog: Sendable {
    private let acks = Mutex<[Int64: [ContinuousClock.Instant]]>([:])

    func record(_ version: Int64) {
        let now = ContinuousClock.now
        acks.withLock { $0[version, default: []].append(now) }
    }

    /// Acknowledgements of `version` or later, one per proxy at most (the earliest).
    func times(atLeast version: Int64) -> [ContinuousClock.Instant] {
        acks.withLock { acks in acks.filter { $0.key >= version }.flatMap(\.value) }
    }

    func count(of version: Int64) -> Int {
        acks.withLock { $0[version]?.count ?? 0 }
    }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.nanosecondsClamped) / 1e9
}

func percentile(_ values: [Double], _ q: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted[min(sorted.count - 1, Int((q * Double(sorted.count)).rounded(.up)) - 1 < 0 ? 0 : Int((q * Double(sorted.count)).rounded(.up)) - 1)]
}

func ms(_ value: Double) -> String { String(format: "%.1f ms", value * 1000) }

let directory = FileManager.default.temporaryDirectory.appendingPathComponent("heddle-propagation-\(ProcessInfo.processInfo.processIdentifier)").path
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: directory) }
let store = try SQLiteStore(directory: directory)
var configuration = ControlPlaneServer.Configuration()
configuration.port = 0
let (listening, report) = AsyncStream<HostPort>.makeStream()
let server = ControlPlaneServer(store: store, configuration: configuration, logger: logger) { report.yield($0) }
let group = ServiceGroup(configuration: .init(services: [.init(service: server)], logger: logger))
let serverTask = Task { try await group.run() }
var address: HostPort?
for await bound in listening {
    address = bound
    break
}
guard let address else { fail("the control plane did not start") }
let baseURL = "http://\(address)"

// One connection per watch, as N sidecars would have; acknowledgements on a pool of their own
// (N sidecars would each have one; here 128 connections carry them).
var watchConfiguration = HTTPClient.Configuration()
watchConfiguration.connectionPool = .init(idleTimeout: .seconds(120), concurrentHTTP1ConnectionsPerHostSoftLimit: proxyCount + 16)
let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: watchConfiguration)
var ackConfiguration = HTTPClient.Configuration()
ackConfiguration.connectionPool = .init(idleTimeout: .seconds(120), concurrentHTTP1ConnectionsPerHostSoftLimit: 128)
let ackHTTP = HTTPClient(eventLoopGroupProvider: .singleton, configuration: ackConfiguration)
let client = ControlPlaneClient(baseURL: baseURL, http: http)
let ackClient = ControlPlaneClient(baseURL: baseURL, http: ackHTTP)

func fail(_ message: String) -> Never {
    print(message)
    exit(1)
}

func route(_ weight: Int) -> String {
    """
    apiVersion: heddle.dev/v1alpha1
    kind: Service
    metadata: {name: users-v1}
    spec: {endpoints: [{address: "10.0.0.1:8080"}, {address: "10.0.0.2:8080"}]}
    ---
    apiVersion: heddle.dev/v1alpha1
    kind: Service
    metadata: {name: users-v2}
    spec: {endpoints: [{address: "10.0.0.3:8080"}]}
    ---
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {name: users}
    spec:
      hostnames: [users]
      rules:
        - backendRefs:
            - {name: users-v1, weight: \(100 - weight)}
            - {name: users-v2, weight: \(weight)}
    """
}

_ = try await client.apply(yaml: route(0), dryRun: false)
let log = AckLog()
let ackFailures = Atomic<Int>(0)
print("opening \(proxyCount) watches to \(baseURL) ...")
let watchers = Task {
    await withTaskGroup(of: Void.self) { group in
        for index in 0..<proxyCount {
            group.addTask {
                let id = "bench-\(index)"
                do {
                    for try await push in try await client.watch(proxy: id, service: "svc-\(index % 100)") {
                        // A failed acknowledgement (the control plane too busy to answer in 5 s)
                        // is counted and sent again, up to three times; the watch goes on.
                        for attempt in 1...3 {
                            do {
                                try await ackClient.ack(proxy: id, PushAck(version: push.version, accepted: true))
                                log.record(push.version)
                                break
                            } catch {
                                ackFailures.add(1, ordering: .relaxed)
                                if attempt == 3 { print("ack of \(id) failed 3 times: \(error)") }
                            }
                        }
                    }
                } catch {
                    if !Task.isCancelled { print("watch \(id) ended: \(error)") }
                }
            }
        }
    }
}

func waitForAcks(of version: Int64, timeout: Duration) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if log.times(atLeast: version).count >= proxyCount { return true }
        try? await Task.sleep(for: .milliseconds(1))
    }
    return false
}

let initial = try await client.resources(kind: nil).revision
guard await waitForAcks(of: initial, timeout: .seconds(120)) else { fail("only \(log.times(atLeast: initial).count) of \(proxyCount) watches acknowledged the initial snapshot within 120 s") }
print("all \(proxyCount) proxies run revision \(initial)\n")

var lasts: [Double] = []
var applyTimes: [Double] = []
var everyAck: [Double] = []
for round in 1...rounds {
    try await Task.sleep(for: .milliseconds(300))
    let start = ContinuousClock.now
    let result = try await client.apply(yaml: route(round % 2 == 1 ? 10 : 0), dryRun: false)
    let applied = seconds(ContinuousClock.now - start)
    applyTimes.append(applied)
    guard let revision = result.items.compactMap(\.revision).max() else { fail("apply changed nothing: \(result)") }
    guard await waitForAcks(of: revision, timeout: .seconds(60)) else {
        print("round \(round): only \(log.times(atLeast: revision).count) of \(proxyCount) proxies acknowledged within 60 s")
        exit(1)
    }
    let delays = log.times(atLeast: revision).map { seconds($0 - start) }.sorted().prefix(proxyCount)
    lasts.append(delays.last!)
    everyAck += delays
    print("round \(String(format: "%2d", round)): revision \(revision)  applied \(ms(applied))  first \(ms(delays.first!))  median \(ms(percentile(Array(delays), 0.5)))  last \(ms(delays.last!))")
}

print("""

\(proxyCount) watching proxies, \(rounds) applies (pushes are coalesced for 75 ms after a change):
  apply request answered (stored):  p50 \(ms(percentile(applyTimes, 0.5)))   p99 \(ms(percentile(applyTimes, 0.99)))
  apply → last proxy acknowledged:  p50 \(ms(percentile(lasts, 0.5)))   p99 \(ms(percentile(lasts, 0.99)))   max \(ms(lasts.max()!))
  apply → each proxy acknowledged:  p50 \(ms(percentile(everyAck, 0.5)))   p99 \(ms(percentile(everyAck, 0.99)))
  acknowledgements that timed out (5 s) and were sent again: \(ackFailures.load(ordering: .relaxed))
""")
watchers.cancel()
await group.triggerGracefulShutdown()
_ = try? await serverTask.value
try? await http.shutdown()
try? await ackHTTP.shutdown()
try? store.close()
