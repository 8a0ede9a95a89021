import Foundation
import HeddlePolicy
import HeddleTracing
import Testing
import W3CTraceContext

/// A generator that replays fixed values, so ids and sampling draws are known.
struct ScriptedRandom: RandomNumberGenerator {
    var values: [UInt64]
    var index = 0

    mutating func next() -> UInt64 {
        defer { index += 1 }
        return values[index % values.count]
    }
}

@Suite("Trace context and sampling")
struct TraceSamplerTests {
    let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    @Test("A valid traceparent is continued: same trace, the caller's span as parent, its sampled flag")
    func continuesTrace() throws {
        var random = ScriptedRandom(values: [0x0102_0304_0506_0708])
        let trace = TraceSampler(sampleRate: 0).begin(traceParent: incoming, random: &random)
        #expect(trace.traceID.hex == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(trace.parentSpanID?.hex == "00f067aa0ba902b7")
        #expect(trace.sampled, "the caller's decision wins over this proxy's rate of 0")
        #expect(trace.spanID.hex == "0102030405060708")
        #expect(trace.traceParentHeader == "00-4bf92f3577b34da6a3ce929d0e0e4736-0102030405060708-01")
    }

    @Test("An unsampled caller keeps the trace unsampled, even at rate 1")
    func unsampledCaller() {
        var random = ScriptedRandom(values: [7])
        let trace = TraceSampler(sampleRate: 1).begin(traceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", random: &random)
        #expect(!trace.sampled)
        #expect(trace.traceParentHeader.hasSuffix("-00"))
    }

    @Test("A missing or invalid traceparent starts a new trace", arguments: [
        nil, "", "garbage", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "00-4BF92F3577B34DA6A3CE929D0E0E473Z-00f067aa0ba902b7-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    ] as [String?])
    func startsTrace(header: String?) {
        var random = ScriptedRandom(values: [0xAAAA_AAAA_AAAA_AAAA, 0x1111_1111_1111_1111, 0x2222_2222_2222_2222])
        let trace = TraceSampler(sampleRate: 1).begin(traceParent: header, random: &random)
        #expect(trace.parentSpanID == nil)
        #expect(trace.traceID.hex != "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(trace.traceID != .null)
        #expect(trace.sampled)
        let header = trace.traceParentHeader
        #expect(header.utf8.count == 55)
        #expect((try? TraceContext(traceParentHeaderValue: header)) != nil, "what the proxy sends on parses")
    }

    @Test("New traces are sampled at the configured rate")
    func samplingRate() {
        var random = Xoshiro256StarStar(seed: 42)
        let sampler = TraceSampler(sampleRate: 0.25)
        var sampled = 0
        for _ in 0..<10_000 where sampler.begin(traceParent: nil, random: &random).sampled {
            sampled += 1
        }
        #expect((2_200...2_800).contains(sampled), "\(sampled) of 10000 at 25 %")
        var never = Xoshiro256StarStar(seed: 1)
        #expect(!(0..<1_000).contains { _ in TraceSampler(sampleRate: 0).begin(traceParent: nil, random: &never).sampled })
    }
}
