#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HeddleCore
import HeddlePolicy

/// One request as the access log records it.
struct AccessLogEntry {
    var listener: String
    var method: String
    var target: String
    var host: String
    var route: String?
    var backend: String?
    var endpoint: String?
    var status: Int
    var durationNanoseconds: Int64
    var bytesIn: Int
    var bytesOut: Int
    var error: String?
    /// The request's trace, when the proxy traces: the key to find its spans.
    var traceID: String? = nil
    /// A failed request's id (`heddle explain ID`).
    var requestID: String? = nil
}

/// Writes one JSON line per request to standard output: every request (`full`), a sampled
/// share (`sampled`, failed requests always), or none (`off`, the default).
final class AccessLog: Sendable {
    let spec: AccessLogSpec

    init(spec: AccessLogSpec) {
        self.spec = spec
        isEnabled = spec.mode != .off
    }

    let isEnabled: Bool

    func record(_ entry: AccessLogEntry, random: inout Xoshiro256StarStar) {
        switch spec.mode {
        case .off:
            return
        case .full:
            break
        case .sampled:
            let failed = entry.status >= 500 || entry.error != nil
            if !failed, Double.random(in: 0..<1, using: &random) >= spec.sampleRate { return }
        }
        var line = "{\"time\":\(Self.timestamp()),\"listener\":\(Self.quote(entry.listener)),\"method\":\(Self.quote(entry.method)),\"host\":\(Self.quote(entry.host)),\"target\":\(Self.quote(entry.target))"
        line += ",\"route\":\(entry.route.map(Self.quote) ?? "null"),\"backend\":\(entry.backend.map(Self.quote) ?? "null"),\"endpoint\":\(entry.endpoint.map(Self.quote) ?? "null")"
        line += ",\"status\":\(entry.status),\"duration_ms\":\(Double(entry.durationNanoseconds) / 1e6),\"bytes_in\":\(entry.bytesIn),\"bytes_out\":\(entry.bytesOut),\"heddle_error\":\(entry.error.map(Self.quote) ?? "null")"
        if let traceID = entry.traceID { line += ",\"trace_id\":\"\(traceID)\"" }
        if let requestID = entry.requestID { line += ",\"request_id\":\"\(requestID)\"" }
        line += "}\n"
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(1, raw.baseAddress! + offset, raw.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }

    /// Seconds since the Unix epoch, with milliseconds.
    static func timestamp() -> String {
        timestamp(unixNanoseconds: unixNanoseconds())
    }

    /// `nanoseconds` since the Unix epoch as seconds with milliseconds.
    static func timestamp(unixNanoseconds nanoseconds: UInt64) -> String {
        "\(nanoseconds / 1_000_000_000).\(format3(Int(nanoseconds % 1_000_000_000) / 1_000_000))"
    }

    /// Nanoseconds since the Unix epoch (span timestamps).
    static func unixNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
    }

    private static func format3(_ value: Int) -> String {
        value < 10 ? "00\(value)" : value < 100 ? "0\(value)" : "\(value)"
    }

    /// A JSON string literal.
    static func quote(_ text: String) -> String {
        JSONText.quoted(text)
    }
}
