import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// Sends spans to an OTLP/HTTP collector in batches, off the data path: event loops hand over
/// what they recorded (`submit`), and one task at a time posts batches of up to `batchSize`.
/// The queue is bounded (spans beyond `maxQueued` are dropped and counted, never waited for),
/// a batch the collector cannot take is retried once after a second when the failure is
/// transient (no connection, 429, 502, 503, 504) and then dropped.
public final class OTLPSpanExporter: Sendable {
    /// What happened to spans, for the proxy's metrics.
    public enum Outcome: String, Sendable {
        case exported
        /// The queue was full: the collector is slower than the traffic, or unreachable.
        case queueFull = "queue_full"
        /// The collector refused the batch, or could not be reached after a retry.
        case exportFailed = "export_failed"
        /// A failed request's span in an unsampled trace, past the proxy's limit of such spans
        /// a second (an outage must not double the proxy's work).
        case rateLimited = "rate_limited"
    }

    public let url: String
    private let client: HTTPClient
    private let resource: [SpanAttribute]
    private let logger: Logger
    private let record: @Sendable (Outcome, Int) -> Void
    private let maxQueued: Int
    private let batchSize: Int
    private let state = Mutex(State())

    private struct State {
        var queued: [SpanRecord] = []
        var exporting = false
        var stopped = false
        /// When a failure was last logged, so a dead collector is one line a minute.
        var lastFailureLog: ContinuousClock.Instant?
    }

    /// `resource`: the attributes of the proxy (`service.name`, ...). `record` counts spans by
    /// outcome.
    public init(
        url: String, resource: [SpanAttribute], eventLoopGroup: any EventLoopGroup, logger: Logger,
        maxQueued: Int = 8192, batchSize: Int = 512, record: @escaping @Sendable (Outcome, Int) -> Void = { _, _ in }
    ) {
        self.url = url
        self.resource = resource
        self.logger = logger
        self.record = record
        self.maxQueued = maxQueued
        self.batchSize = batchSize
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(2), read: .seconds(5)))
        configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 1)
        client = HTTPClient(eventLoopGroup: eventLoopGroup, configuration: configuration)
    }

    /// Queues `spans` for export; those beyond the bound are dropped and counted.
    public func submit(_ spans: [SpanRecord]) {
        guard !spans.isEmpty else { return }
        let (start, dropped) = state.withLock { state -> (Bool, Int) in
            guard !state.stopped else { return (false, spans.count) }
            let room = max(0, maxQueued - state.queued.count)
            state.queued.append(contentsOf: spans.prefix(room))
            let start = !state.exporting && !state.queued.isEmpty
            if start { state.exporting = true }
            return (start, spans.count - min(room, spans.count))
        }
        if dropped > 0 { record(.queueFull, dropped) }
        if start {
            Task { await self.drain() }
        }
    }

    /// Lets the export in progress finish (within `timeout`), then closes the client. A
    /// submit always starts an export when the queue was idle, so nothing waits unsent
    /// without one running; spans submitted from now on are dropped and counted.
    public func shutdown(timeout: Duration = .seconds(3)) async {
        state.withLock { $0.stopped = true }
        let deadline = ContinuousClock.now + timeout
        while state.withLock({ $0.exporting }), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        try? await client.shutdown()
    }

    /// Takes the next batch; when none is left, marks the exporter idle and returns nil.
    private func takeBatch() -> [SpanRecord]? {
        state.withLock { state in
            guard !state.queued.isEmpty else {
                state.exporting = false
                return nil
            }
            let count = min(batchSize, state.queued.count)
            let batch = Array(state.queued.prefix(count))
            state.queued.removeFirst(count)
            return batch
        }
    }

    private func drain() async {
        while let batch = takeBatch() {
            await send(batch, deadline: .now + .seconds(30))
        }
    }

    private func send(_ batch: [SpanRecord], deadline: ContinuousClock.Instant) async {
        let body = OTLPTraceEncoder.encode(batch, resource: resource)
        var failure = await post(body)
        if let found = failure, found.transient, ContinuousClock.now + .seconds(1) < deadline {
            try? await Task.sleep(for: .seconds(1))
            failure = await post(body)
        }
        if let failure {
            record(.exportFailed, batch.count)
            logFailure(failure.description, spans: batch.count)
        } else {
            record(.exported, batch.count)
        }
    }

    private struct Failure {
        var description: String
        var transient: Bool
    }

    private func post(_ body: [UInt8]) async -> Failure? {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: .seconds(10))
            let text = try await response.body.collect(upTo: 16 * 1024)
            let status = Int(response.status.code)
            guard (200..<300).contains(status) else {
                let detail = String(buffer: text).prefix(200)
                return Failure(description: "the collector answered \(status)\(detail.isEmpty ? "" : ": \(detail)")", transient: [429, 502, 503, 504].contains(status))
            }
            return nil
        } catch {
            return Failure(description: "\(error)", transient: true)
        }
    }

    private func logFailure(_ reason: String, spans: Int) {
        let now = ContinuousClock.now
        let shouldLog = state.withLock { state -> Bool in
            if let last = state.lastFailureLog, now - last < .seconds(60) { return false }
            state.lastFailureLog = now
            return true
        }
        guard shouldLog else { return }
        logger.warning("spans not exported", metadata: ["collector": "\(url)", "spans": "\(spans)", "reason": "\(reason)", "note": "further failures are counted in heddle_trace_spans_total and logged once a minute"])
    }
}
