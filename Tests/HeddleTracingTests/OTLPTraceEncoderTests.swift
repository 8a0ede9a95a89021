import Foundation
import HeddleTracing
import Testing
import W3CTraceContext

@Suite("OTLP/JSON encoding")
struct OTLPTraceEncoderTests {
    func span(parent: Bool, error: String?) throws -> SpanRecord {
        let context = try TraceContext(traceParentHeaderValue: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        let trace = RequestTrace(
            traceID: context.traceID, spanID: SpanID(bytes: (1, 2, 3, 4, 5, 6, 7, 8)),
            parentSpanID: parent ? context.spanID : nil, sampled: true)
        return SpanRecord(
            trace: trace, name: "GET checkout-route", kind: .server,
            startUnixNanos: 1_700_000_000_000_000_000, endUnixNanos: 1_700_000_000_002_500_000,
            attributes: [SpanAttribute("url.path", "/cart \"x\"\n"), SpanAttribute("http.response.status_code", 503), SpanAttribute("sampled", true)],
            errorMessage: error)
    }

    @Test("Spans encode as an ExportTraceServiceRequest with hex ids, string nanoseconds and numeric enums")
    func encodes() throws {
        let body = OTLPTraceEncoder.encode(
            [try span(parent: true, error: "no-healthy-endpoint: service 'cart' has none"), try span(parent: false, error: nil)],
            resource: [SpanAttribute("service.name", "checkout")])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        let resourceSpans = try #require((json["resourceSpans"] as? [[String: Any]])?.first)
        let resource = try #require(resourceSpans["resource"] as? [String: Any])
        let resourceAttributes = try #require(resource["attributes"] as? [[String: Any]])
        #expect(resourceAttributes.first?["key"] as? String == "service.name")
        #expect((resourceAttributes.first?["value"] as? [String: Any])?["stringValue"] as? String == "checkout")
        let scope = try #require((resourceSpans["scopeSpans"] as? [[String: Any]])?.first)
        let spans = try #require(scope["spans"] as? [[String: Any]])
        #expect(spans.count == 2)
        let first = spans[0]
        #expect(first["traceId"] as? String == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(first["spanId"] as? String == "0102030405060708")
        #expect(first["parentSpanId"] as? String == "00f067aa0ba902b7")
        #expect(first["kind"] as? Int == 2)
        #expect(first["startTimeUnixNano"] as? String == "1700000000000000000")
        #expect(first["endTimeUnixNano"] as? String == "1700000000002500000")
        let status = try #require(first["status"] as? [String: Any])
        #expect(status["code"] as? Int == 2)
        #expect(status["message"] as? String == "no-healthy-endpoint: service 'cart' has none")
        let attributes = try #require(first["attributes"] as? [[String: Any]])
        let values = Dictionary(uniqueKeysWithValues: attributes.map { ($0["key"] as! String, $0["value"] as! [String: Any]) })
        #expect(values["url.path"]?["stringValue"] as? String == "/cart \"x\"\n", "quotes and control characters survive")
        #expect(values["http.response.status_code"]?["intValue"] as? String == "503")
        #expect(values["sampled"]?["boolValue"] as? Bool == true)
        #expect(spans[1]["parentSpanId"] == nil, "a root span names no parent")
        #expect(spans[1]["status"] == nil, "a successful span leaves its status unset")
    }
}
