import HeddleCore
import Synchronization

/// One `heddle tap` watching this proxy: its filter, and the event lines waiting to be sent.
/// Event loops offer matching requests (`offer`, only while a tap exists); the admin connection
/// drains the lines every 100 ms. Bounded twice, so a tap never slows the data path: at most
/// `maxPerSecond` events a second are made (the rest are counted as skipped), and at most
/// `maxQueued` wait.
final class TapSubscription: Sendable {
    let filter: TapFilter
    let maxPerSecond: Int
    private let maxQueued: Int
    private let state = Mutex(State())

    private struct State {
        var lines: [String] = []
        var skipped = 0
        var second: UInt64 = 0
        var madeThisSecond = 0
    }

    init(filter: TapFilter, maxPerSecond: Int, maxQueued: Int = 4096) {
        self.filter = filter
        self.maxPerSecond = maxPerSecond
        self.maxQueued = maxQueued
    }

    /// A request that matched the filter: its line is made (by `line`) when this second's
    /// budget allows, else it is counted as skipped.
    func offer(nowNanoseconds: UInt64, _ line: () -> String) {
        let second = nowNanoseconds / 1_000_000_000
        let admitted = state.withLock { state -> Bool in
            if state.second != second {
                state.second = second
                state.madeThisSecond = 0
            }
            guard state.madeThisSecond < maxPerSecond, state.lines.count < maxQueued else {
                state.skipped += 1
                return false
            }
            state.madeThisSecond += 1
            return true
        }
        guard admitted else { return }
        let text = line()
        state.withLock { $0.lines.append(text) }
    }

    /// The lines waiting, and how many requests were skipped since the last drain.
    func drain() -> (lines: [String], skipped: Int) {
        state.withLock { state in
            defer {
                state.lines.removeAll(keepingCapacity: true)
                state.skipped = 0
            }
            return (state.lines, state.skipped)
        }
    }
}

extension RequestFacts {
    /// The request as one event (a tap's, a remembered failure's): a JSON line. `requestID` and
    /// the failure's details are included for a failed request.
    /// `time`: when the request completed, nanoseconds since the Unix epoch.
    func eventLine(time: UInt64, latencyNanoseconds: Int64, traceID: String?, proxyIdentity: String?, requestID: String? = nil) -> String {
        var out = "{\"time\":\(AccessLog.timestamp(unixNanoseconds: time)),\"direction\":\"\(listener == "inbound" ? "inbound" : "outbound")\",\"listener\":"
        JSONText.appendQuoted(listener, to: &out)
        out += ",\"method\":"
        JSONText.appendQuoted(method, to: &out)
        out += ",\"authority\":"
        JSONText.appendQuoted(host, to: &out)
        out += ",\"path\":"
        JSONText.appendQuoted(path, to: &out)
        out += ",\"status\":\(status),\"latency_ms\":\(Double(latencyNanoseconds / 1000) / 1000)"
        // Who called whom: on the inbound listener the caller proved its identity and this
        // proxy is the destination; outbound, this proxy is the source and the endpoint proved
        // the destination's (when reached over mutual TLS).
        let source = listener == "inbound" ? clientIdentity : proxyIdentity
        let destination = listener == "inbound" ? proxyIdentity : endpointIdentity
        for (key, value) in [("source", source), ("destination", destination), ("route", route), ("backend", backend), ("endpoint", endpoint), ("heddle_error", error?.reason.identifier), ("trace_id", traceID)] {
            out += ",\"\(key)\":"
            if let value { JSONText.appendQuoted(value, to: &out) } else { out += "null" }
        }
        if attempts > 1 { out += ",\"retries\":\(attempts - 1)" }
        if let requestID {
            out += ",\"request_id\":"
            JSONText.appendQuoted(requestID, to: &out)
        }
        if let details = error?.details {
            out += ",\"details\":"
            JSONText.appendQuoted(details, to: &out)
        }
        out += "}"
        return out
    }
}
