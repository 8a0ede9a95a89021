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
    func finish(_ trace: RequestTrace, status: Int, failed: Bool, elapsedNanoseconds: Int64, facts: () -> RequestFacts) {
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
