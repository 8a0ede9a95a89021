import W3CTraceContext

/// The trace one request belongs to at this hop: continued from the caller's `traceparent`, or
/// started here. The hop's own span gets `spanID`; the request goes on upstream with
/// `traceParentHeader`, which names that span as the parent.
public struct RequestTrace: Sendable, Equatable {
    public var traceID: TraceID
    public var spanID: SpanID
    /// The caller's span, when the trace was continued.
    public var parentSpanID: SpanID?
    /// Whether the trace is recorded (the `sampled` flag sent on). A failed request's span is
    /// recorded even when this is false.
    public var sampled: Bool

    public init(traceID: TraceID, spanID: SpanID, parentSpanID: SpanID?, sampled: Bool) {
        self.traceID = traceID
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.sampled = sampled
    }

    /// The `traceparent` value for the next hop (version 00).
    public var traceParentHeader: String {
        String(unsafeUninitializedCapacity: 55) { out in
            out[0] = UInt8(ascii: "0")
            out[1] = UInt8(ascii: "0")
            out[2] = UInt8(ascii: "-")
            var at = 3
            withUnsafeBytes(of: traceID.bytes) { at = Hex.write($0, into: out, at: at) }
            out[at] = UInt8(ascii: "-")
            withUnsafeBytes(of: spanID.bytes) { at = Hex.write($0, into: out, at: at + 1) }
            out[at] = UInt8(ascii: "-")
            out[at + 1] = UInt8(ascii: "0")
            out[at + 2] = sampled ? UInt8(ascii: "1") : UInt8(ascii: "0")
            return 55
        }
    }
}

/// Decides each request's trace: a valid incoming `traceparent` is continued with its caller's
/// sampling decision (parent-based, so a trace is recorded whole or not at all); otherwise a
/// new trace starts, recorded with probability `sampleRate`. Randomness is injected, so tests
/// are deterministic.
public struct TraceSampler: Sendable {
    public let sampleRate: Double

    public init(sampleRate: Double) {
        self.sampleRate = min(max(sampleRate, 0), 1)
    }

    /// Inlinable so that it is specialised for the caller's generator: through a generic
    /// witness, drawing the sampling decision cost more than the rest of the trace's work.
    @inlinable
    public func begin(traceParent: String?, random: inout some RandomNumberGenerator) -> RequestTrace {
        let spanID = SpanID.random(using: &random)
        if let traceParent, let parent = try? TraceContext(traceParentHeaderValue: traceParent) {
            return RequestTrace(traceID: parent.traceID, spanID: spanID, parentSpanID: parent.spanID, sampled: parent.flags.contains(.sampled))
        }
        let sampled = sampleRate >= 1 || (sampleRate > 0 && Double.random(in: 0..<1, using: &random) < sampleRate)
        return RequestTrace(traceID: TraceID.random(using: &random), spanID: spanID, parentSpanID: nil, sampled: sampled)
    }
}

/// Lowercase hexadecimal, written into preallocated storage.
enum Hex {
    private static let digits: StaticString = "0123456789abcdef"

    static func write(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutableBufferPointer<UInt8>, at start: Int) -> Int {
        var at = start
        digits.withUTF8Buffer { digits in
            for byte in bytes {
                out[at] = digits[Int(byte >> 4)]
                out[at + 1] = digits[Int(byte & 0x0F)]
                at += 2
            }
        }
        return at
    }

    static func string(_ bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            write(bytes, into: out, at: 0)
        }
    }
}

extension TraceID {
    /// 32 lowercase hex digits, as OTLP/JSON and logs write it.
    public var hex: String { withUnsafeBytes(of: bytes) { Hex.string($0) } }
}

extension SpanID {
    /// 16 lowercase hex digits.
    public var hex: String { withUnsafeBytes(of: bytes) { Hex.string($0) } }
}

/// The W3C Trace Context header names (lowercase, as HTTP/2 sends them).
public enum TraceHeaders {
    public static let traceParent = "traceparent"
    public static let traceState = "tracestate"
}
