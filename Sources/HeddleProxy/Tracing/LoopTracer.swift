import HeddlePolicy
import HeddleTracing

/// One event loop's part in tracing: begins each request's trace (continued or new), keeps the
/// spans its requests record, and hands them to the proxy's exporter once a second from the
/// loop's maintenance tick. Touched only on its loop: no lock on the request path, and nothing
/// recorded for a request that is neither sampled nor failed.
final class LoopTracer {
    let sampler: TraceSampler
    private let exporter: OTLPSpanExporter
    private let metrics: ProxyMetrics
    private var buffered: [SpanRecord] = []
    /// Spans kept between ticks at most; more are dropped and counted.
    private let maxBuffered: Int
    /// Spans of unsampled traces recorded because the request failed, at most, between ticks:
    /// when everything fails (an outage), recording every failure would cost as much as the
    /// traffic itself. Beyond it they are dropped and counted (`rate_limited`).
    private let maxForced: Int
    private var forced = 0

    init(sampler: TraceSampler, exporter: OTLPSpanExporter, metrics: ProxyMetrics, maxBuffered: Int = 4096, maxForcedPerSecond: Int = 100) {
        self.sampler = sampler
        self.exporter = exporter
        self.metrics = metrics
        self.maxBuffered = maxBuffered
        self.maxForced = maxForcedPerSecond
    }

    func begin(traceParent: String?, random: inout Xoshiro256StarStar) -> RequestTrace {
        sampler.begin(traceParent: traceParent, random: &random)
    }

    /// Records the request's span when its trace is sampled or it failed (a 5xx, or an error
    /// the proxy answered); `facts` is gathered only then.
    func finish(_ trace: RequestTrace, status: Int, failed: Bool, elapsedNanoseconds: Int64, facts: () -> RequestSpanFacts) {
        guard trace.sampled || failed || status >= 500 else { return }
        guard buffered.count < maxBuffered else {
            metrics.recordSpans(.queueFull, count: 1)
            return
        }
        if !trace.sampled {
            guard forced < maxForced else {
                metrics.recordSpans(.rateLimited, count: 1)
                return
            }
            forced += 1
        }
        let end = AccessLog.unixNanoseconds()
        buffered.append(facts().span(trace: trace, start: end &- UInt64(max(elapsedNanoseconds, 0)), end: end))
    }

    /// Hands the spans recorded since the last tick to the exporter.
    func flush() {
        forced = 0
        guard !buffered.isEmpty else { return }
        exporter.submit(buffered)
        buffered.removeAll(keepingCapacity: true)
    }
}

/// What a span says about one request at one hop, gathered by the HTTP/1 and HTTP/2 handlers
/// when it completes.
struct RequestSpanFacts {
    var listener: String
    var method: String
    var path: String
    var host: String
    var status: Int
    var route: String?
    var backend: String?
    var endpoint: String?
    /// Attempts made (1: no retry); 0 when the proxy answered before sending.
    var attempts: Int
    var error: ProxyFailure?
    /// The calling workload's identity (inbound listener, mutual TLS).
    var clientIdentity: String?
    /// `1.1` or `2`.
    var protocolVersion: String
    var grpc: Bool = false

    /// Spans are named `METHOD route` (else the listener), so a trace view groups them by
    /// route rather than by every distinct path.
    func span(trace: RequestTrace, start: UInt64, end: UInt64) -> SpanRecord {
        var attributes: [SpanAttribute] = [
            SpanAttribute("heddle.listener", listener),
            SpanAttribute("http.request.method", method),
            SpanAttribute("url.path", path),
            SpanAttribute("server.address", host),
            SpanAttribute("network.protocol.name", "http"),
            SpanAttribute("network.protocol.version", protocolVersion),
        ]
        if status > 0 { attributes.append(SpanAttribute("http.response.status_code", status)) }
        if grpc { attributes.append(SpanAttribute("rpc.system", "grpc")) }
        if let route { attributes.append(SpanAttribute("heddle.route", route)) }
        if let backend { attributes.append(SpanAttribute("heddle.backend", backend)) }
        if let endpoint { attributes.append(SpanAttribute("heddle.endpoint", endpoint)) }
        if attempts > 1 { attributes.append(SpanAttribute("heddle.retries", attempts - 1)) }
        if let clientIdentity { attributes.append(SpanAttribute("heddle.client_identity", clientIdentity)) }
        if let error {
            attributes.append(SpanAttribute("heddle.error", error.reason.identifier))
            attributes.append(SpanAttribute("error.type", error.reason.identifier))
        } else if status >= 500 {
            attributes.append(SpanAttribute("error.type", String(status)))
        }
        let kind: SpanRecord.Kind = listener == "outbound" ? .client : .server
        let message: String? = if let error { "\(error.reason.identifier): \(error.details)" } else if status >= 500 { "status \(status)" } else { nil }
        return SpanRecord(
            trace: trace, name: "\(method) \(route ?? listener)", kind: kind,
            startUnixNanos: start, endUnixNanos: end, attributes: attributes, errorMessage: message)
    }
}
