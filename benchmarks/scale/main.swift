// Scale benchmark (issue 9): a control plane in its own process, a mesh of S services with I
// registered instances, and P simulated proxies each watching only what it calls (demand-
// driven scopes) and acknowledging every push, as a sidecar does.
//
//   swift build -c release --product heddle --product heddle-scale-bench
//   .build/release/heddle-scale-bench [--services 10000] [--instances 100000] [--proxies 10000] [--rounds 20]
//
// Reports:
//   1. one real sidecar's RSS as the mesh grows from 10 to S services — one that calls one
//      service (`--calls`) and, for contrast, one pushed the whole mesh;
//   2. the control plane's RSS before and with the P watch streams (memory per stream);
//   3. per change, the time from the apply request to the last affected proxy acknowledging
//      (p50/p99 over the rounds) and to each affected proxy's acknowledgement, for a change
//      to one service (the few proxies that call it) and to a service every proxy calls;
//   4. the control plane's CPU time per change, and in all.
//
// The store is SQLite on /dev/shm when there is one (what is measured is pushing, not fsync).
// Each simulated proxy is one HTTP/1.1 connection read with SwiftNIO, not a sidecar process.
import AsyncHTTPClient
import Foundation
import HeddleAPI
import HeddleSidecar
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

// MARK: - Options and helpers

/// Prints a line at once (also into a file or a pipe, where `print` would buffer it).
func say(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

func option(_ name: String, default value: Int) -> Int {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count, let parsed = Int(arguments[index + 1]) else { return value }
    return parsed
}

func stringOption(_ name: String) -> String? {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

let serviceCount = max(10, option("--services", default: 10000))
let instanceCount = max(serviceCount, option("--instances", default: 100_000))
let proxyCount = max(1, option("--proxies", default: 10000))
let rounds = max(1, option("--rounds", default: 20))
let callsPerProxy = 2
let heddle = stringOption("--heddle")
    ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("heddle").path

func fail(_ message: String) -> Never {
    say("heddle-scale-bench: \(message)")
    exit(1)
}

func seconds(_ duration: Duration) -> Double {
    let parts = duration.components
    return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
}

func percentile(_ values: [Double], _ q: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted[max(0, min(sorted.count - 1, Int((q * Double(sorted.count)).rounded(.up)) - 1))]
}

func ms(_ value: Double) -> String { String(format: "%.1f ms", value * 1000) }
func mb(_ kilobytes: Int) -> String { String(format: "%.1f MB", Double(kilobytes) / 1024) }

/// Resident memory (kB) and CPU time (s) of a process, from /proc.
func processStats(_ pid: Int32) -> (rssKB: Int, cpuSeconds: Double) {
    let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    let rss = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }.flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true)[1]) } ?? 0
    let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
    // Fields after the command (which is in parentheses): utime and stime are the 12th and 13th.
    let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
    let ticks = fields.count > 12 ? (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0) : 0
    return (rss, ticks / Double(sysconf(Int32(_SC_CLK_TCK))))
}

func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 } }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A child process with its output in a file, killed at exit.
final class Child: @unchecked Sendable {
    let process = Process()
    let log: String

    init(_ arguments: [String], log: String) throws {
        self.log = log
        FileManager.default.createFile(atPath: log, contents: nil)
        process.executableURL = URL(fileURLWithPath: heddle)
        process.arguments = arguments
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    func stop() {
        if process.isRunning { kill(pid, SIGKILL) }
    }
}

// MARK: - The control plane

let root = FileManager.default.isWritableFile(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
let directory = "\(root)/heddle-scale-\(getpid())"
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
let children = Mutex<[Child]>([])
func cleanUp() {
    for child in children.withLock({ $0 }) { child.stop() }
    try? FileManager.default.removeItem(atPath: directory)
}
signal(SIGINT) { _ in exit(130) }
signal(SIGTERM) { _ in exit(143) }
atexit { for child in children.withLock({ $0 }) { child.stop() } }

let port = freePort()
let baseURL = "http://127.0.0.1:\(port)"
let controlPlane = try Child(["control-plane", "--data-dir", "\(directory)/cp", "--address", "127.0.0.1:\(port)", "--log-level", "warning"], log: "\(directory)/cp.log")
children.withLock { $0.append(controlPlane) }

var httpConfiguration = HTTPClient.Configuration()
httpConfiguration.connectionPool = .init(idleTimeout: .seconds(120), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
httpConfiguration.timeout.read = .seconds(120)
let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
let api = ControlPlaneClient(baseURL: baseURL, http: http)

func waitUntilReady() async {
    for _ in 0..<600 {
        if (try? await api.services()) != nil { return }
        try? await Task.sleep(for: .milliseconds(50))
    }
    fail("the control plane did not answer within 30 s: \((try? String(contentsOfFile: controlPlane.log, encoding: .utf8)) ?? "")")
}
await waitUntilReady()
say("control plane pid \(controlPlane.pid) at \(baseURL), store in \(directory)")

// MARK: - The mesh

func serviceName(_ index: Int) -> String { "svc-\(index)" }

func serviceDocument(_ name: String, weight: Int = 1) -> String {
    """
    apiVersion: heddle.dev/v1alpha1
    kind: Service
    metadata: {name: \(name)}
    spec: {endpoints: [{address: "10.255.0.1:8080", weight: \(weight)}]}
    """
}

/// Declares services `range` (each with one static endpoint) and registers their share of the
/// instances, 64 registrations in flight.
func grow(to range: Range<Int>) async throws {
    for start in stride(from: range.lowerBound, to: range.upperBound, by: 1000) {
        let documents = (start..<min(start + 1000, range.upperBound)).map { serviceDocument(serviceName($0)) }
        _ = try await api.apply(yaml: documents.joined(separator: "\n---\n"), dryRun: false)
    }
    let perService = instanceCount / serviceCount
    let registrations = range.flatMap { service in (0..<perService).map { (service, $0) } }
    try await withThrowingTaskGroup(of: Void.self) { group in
        var next = registrations.makeIterator()
        func add() -> Bool {
            guard let (service, member) = next.next() else { return false }
            group.addTask {
                let address = "10.\(service / 256 % 256).\(service % 256).\(member + 1)"
                _ = try await api.register(RegisterRequest(service: serviceName(service), address: address, port: 8080, protocol: "http2", leaseSeconds: 3600))
            }
            return true
        }
        for _ in 0..<64 where add() {}
        while try await group.next() != nil { _ = add() }
    }
}

/// Whether the proxy watching for `service` acknowledged its first push, at `version` or later
/// (a new watch is pushed the current revision).
func settled(service: String, atLeast version: Int64) async throws -> Bool {
    guard let proxy = try await api.proxies().items.first(where: { $0.service == service }), proxy.connected, let acked = proxy.ackedVersion else { return false }
    return acked >= version
}

// MARK: 1. A real sidecar's memory as the mesh grows

say("\n1. one sidecar's RSS as the mesh grows (each service has \(instanceCount / serviceCount) registered instances)")
let steps = [10, 100, 1000, 10000, 100_000].filter { $0 < serviceCount } + [serviceCount]
var sizes: [(services: Int, scoped: Int, whole: Int)] = []
var grown = 0
for step in steps {
    try await grow(to: grown..<step)
    grown = step
    // Fresh sidecars at each size: what a proxy holds for a mesh of this size.
    func sidecar(_ name: String, calls: [String]) throws -> Child {
        let child = try Child(
            [
                "proxy", "--control-plane", baseURL, "--service", name, "--app-port", String(freePort()), "--inbound-tls", "disabled",
                "--outbound", "127.0.0.1:0", "--inbound", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--workers", "1",
                "--snapshot", "\(directory)/\(name)-\(step).yaml", "--log-level", "warning",
            ] + calls, log: "\(directory)/\(name)-\(step).log")
        children.withLock { $0.append(child) }
        return child
    }
    let scoped = try sidecar("scoped-client-\(step)", calls: ["--calls", serviceName(0)])
    let whole = try sidecar("whole-client-\(step)", calls: [])
    let revision = try await api.services().revision
    let deadline = ContinuousClock.now + .seconds(600)
    for name in ["scoped-client-\(step)", "whole-client-\(step)"] {
        // A control plane busy rendering a mesh this size may not answer within 5 s: asked again.
        while await !((try? settled(service: name, atLeast: revision)) ?? false) {
            guard ContinuousClock.now < deadline else { fail("\(name) did not acknowledge revision \(revision) within 600 s") }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
    try await Task.sleep(for: .seconds(1))
    let sample = (services: step, scoped: processStats(scoped.pid).rssKB, whole: processStats(whole.pid).rssKB)
    sizes.append(sample)
    say("  \(String(format: "%6d", step)) services: calls one \(mb(sample.scoped))   whole mesh \(mb(sample.whole))")
    scoped.stop()
    whole.stop()
}

// MARK: 2. P watch streams

/// What the simulated proxies acknowledged: per proxy, the latest version and when.
final class AckLog: Sendable {
    private let acks: Mutex<[[(version: Int64, at: ContinuousClock.Instant)]]>

    init(count: Int) {
        acks = Mutex(Array(repeating: [], count: count))
    }

    func record(_ proxy: Int, _ version: Int64) {
        let now = ContinuousClock.now
        acks.withLock { $0[proxy].append((version, now)) }
    }

    /// When `proxy` first acknowledged `version` or later.
    func time(_ proxy: Int, atLeast version: Int64) -> ContinuousClock.Instant? {
        acks.withLock { $0[proxy].first { $0.version >= version }?.at }
    }

    func count(atLeast version: Int64, among proxies: [Int]) -> Int {
        acks.withLock { acks in proxies.count { proxy in acks[proxy].contains { $0.version >= version } } }
    }
}

/// One simulated proxy's watch: a GET on its own connection, read as NDJSON; each push's
/// version is handed to `onPush`. The control plane's pushes are scanned for their version,
/// not decoded (the client must not eat the CPU the control plane is measured on).
final class WatchReader: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart
    private let path: String
    private let onPush: @Sendable (Int64) -> Void
    private var line = ByteBuffer()

    init(path: String, onPush: @escaping @Sendable (Int64) -> Void) {
        self.path = path
        self.onPush = onPush
    }

    func channelActive(context: ChannelHandlerContext) {
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
        head.headers.add(name: "Host", value: "127.0.0.1")
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .body(var chunk) = unwrapInboundIn(data) else { return }
        while let newline = chunk.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            var part = chunk.readSlice(length: newline - chunk.readerIndex)!
            chunk.moveReaderIndex(forwardBy: 1)
            line.writeBuffer(&part)
            if line.readableBytes > 0, let version = Self.version(in: line) { onPush(version) }
            line.clear()
        }
        line.writeBuffer(&chunk)
    }

    /// The number after the last `"version":` of a push.
    static func version(in line: ByteBuffer) -> Int64? {
        let bytes = line.readableBytesView
        let key = Array(#""version":"#.utf8)
        var index = bytes.endIndex - key.count
        while index >= bytes.startIndex {
            if bytes[index..<(index + key.count)].elementsEqual(key) {
                var value: Int64 = 0
                var cursor = index + key.count
                while cursor < bytes.endIndex, (48...57).contains(bytes[cursor]) {
                    value = value * 10 + Int64(bytes[cursor] - 48)
                    cursor += 1
                }
                return value
            }
            index -= 1
        }
        return nil
    }
}

let calls: [[Int]] = (0..<proxyCount).map { proxy in (0..<callsPerProxy).map { (proxy * callsPerProxy + $0 * 7919) % serviceCount } }
let callers = Dictionary(grouping: calls.indices.flatMap { proxy in calls[proxy].map { ($0, proxy) } }, by: \.0).mapValues { $0.map(\.1) }
// `shared`: a service every proxy calls.
_ = try await api.apply(yaml: serviceDocument("shared"), dryRun: false)

let before = processStats(controlPlane.pid)
say("\n2. \(proxyCount) watch streams, each calling \(callsPerProxy) services and `shared`")
say("  control plane before the watches: RSS \(mb(before.rssKB)), CPU so far \(String(format: "%.1f", before.cpuSeconds)) s")
let log = AckLog(count: proxyCount)
let ackFailures = Atomic<Int>(0)
let acks = AsyncStream<(Int, Int64)>.makeStream()
let group = MultiThreadedEventLoopGroup.singleton
var channels: [any Channel] = []
let opening = ContinuousClock.now
for proxy in 0..<proxyCount {
    let names = (calls[proxy].map(serviceName) + ["shared"]).joined(separator: ",")
    let path = "/v1/watch?proxy=bench-\(proxy)&service=client-\(proxy % 100)&calls=\(names)"
    let continuation = acks.continuation
    let channel = try await ClientBootstrap(group: group)
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                try channel.pipeline.syncOperations.addHandler(WatchReader(path: path) { continuation.yield((proxy, $0)) })
            }
        }
        .connect(host: "127.0.0.1", port: port).get()
    channels.append(channel)
}
// Acknowledgements go out on a pool of 64 connections, as they come.
let acknowledging = Task {
    await withTaskGroup(of: Void.self) { group in
        var inFlight = 0
        for await (proxy, version) in acks.stream {
            if inFlight >= 64 {
                await group.next()
                inFlight -= 1
            }
            inFlight += 1
            group.addTask {
                for attempt in 1...3 {
                    do {
                        try await api.ack(proxy: "bench-\(proxy)", PushAck(version: version, accepted: true))
                        log.record(proxy, version)
                        return
                    } catch {
                        ackFailures.add(1, ordering: .relaxed)
                        if attempt == 3 { say("  ack of bench-\(proxy) failed 3 times: \(error)") }
                    }
                }
            }
        }
    }
}

func waitForAcks(of version: Int64, from proxies: [Int], timeout: Duration) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if log.count(atLeast: version, among: proxies) >= proxies.count { return true }
        try? await Task.sleep(for: .milliseconds(2))
    }
    return false
}

let everyone = Array(0..<proxyCount)
let initial = try await api.services().revision
guard await waitForAcks(of: initial, from: everyone, timeout: .seconds(600)) else {
    fail("only \(log.count(atLeast: initial, among: everyone)) of \(proxyCount) proxies acknowledged their first push within 600 s")
}
let opened = seconds(ContinuousClock.now - opening)
try await Task.sleep(for: .seconds(2))
let withWatches = processStats(controlPlane.pid)
let perWatch = Double(withWatches.rssKB - before.rssKB) / Double(proxyCount)
say("  all \(proxyCount) opened and acknowledged in \(String(format: "%.1f", opened)) s")
say("  control plane with the watches: RSS \(mb(withWatches.rssKB)) — \(String(format: "%.1f", perWatch)) kB per watch stream")

// MARK: 3. Changes

func measure(_ title: String, rounds: Int, change: (Int) -> (yaml: String, affected: [Int])) async throws -> (lasts: [Double], each: [Double], cpu: Double) {
    var lasts: [Double] = []
    var each: [Double] = []
    let cpuBefore = processStats(controlPlane.pid).cpuSeconds
    for round in 1...rounds {
        try await Task.sleep(for: .milliseconds(300))
        let (yaml, affected) = change(round)
        let start = ContinuousClock.now
        let result = try await api.apply(yaml: yaml, dryRun: false)
        guard let revision = result.items.compactMap(\.revision).max() else { fail("apply changed nothing: \(result)") }
        guard await waitForAcks(of: revision, from: affected, timeout: .seconds(120)) else {
            fail("\(title): only \(log.count(atLeast: revision, among: affected)) of \(affected.count) affected proxies acknowledged within 120 s")
        }
        let delays = affected.compactMap { log.time($0, atLeast: revision) }.map { seconds($0 - start) }
        lasts.append(delays.max() ?? .nan)
        each += delays
    }
    let cpu = processStats(controlPlane.pid).cpuSeconds - cpuBefore
    say("""
      \(title) (\(rounds) rounds):
        change → last affected ack:  p50 \(ms(percentile(lasts, 0.5)))   p99 \(ms(percentile(lasts, 0.99)))
        change → each affected ack:  p50 \(ms(percentile(each, 0.5)))   p99 \(ms(percentile(each, 0.99)))
        control plane CPU:           \(ms(cpu / Double(rounds))) per change (includes the pause between rounds)
    """)
    return (lasts, each, cpu)
}

say("\n3. changes (pushes are coalesced for 75 ms after a change)")
_ = try await measure("one service changes — the proxies that call it (\(callers[0]?.count ?? 0) here)", rounds: rounds) { round in
    let service = (round * 37) % serviceCount
    return (serviceDocument(serviceName(service), weight: round + 1), callers[service] ?? [])
}
_ = try await measure("`shared` changes — every proxy", rounds: rounds) { round in
    (serviceDocument("shared", weight: round + 1), everyone)
}
let after = processStats(controlPlane.pid)
say("""

4. control plane in all: RSS \(mb(after.rssKB)), CPU \(String(format: "%.1f", after.cpuSeconds)) s
   acknowledgements that failed and were sent again: \(ackFailures.load(ordering: .relaxed))
""")
acks.continuation.finish()
acknowledging.cancel()
for channel in channels { channel.close(promise: nil) }
try? await http.shutdown()
cleanUp()
