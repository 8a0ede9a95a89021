import HeddleCore
import W3CTraceContext

/// Encodes spans as an OTLP `ExportTraceServiceRequest` in its JSON form (OTLP/HTTP with
/// `Content-Type: application/json`): ids in lowercase hex, 64-bit integers as strings, enums
/// as numbers, as the OTLP specification's JSON mapping requires.
public enum OTLPTraceEncoder {
    public static func encode(_ spans: [SpanRecord], resource: [SpanAttribute], scope: String = "heddle") -> [UInt8] {
        var out = "{\"resourceSpans\":[{\"resource\":{\"attributes\":"
        appendAttributes(resource, to: &out)
        out += "},\"scopeSpans\":[{\"scope\":{\"name\":"
        appendString(scope, to: &out)
        out += "},\"spans\":["
        for (index, span) in spans.enumerated() {
            if index > 0 { out += "," }
            out += "{\"traceId\":\"\(span.trace.traceID.hex)\",\"spanId\":\"\(span.trace.spanID.hex)\""
            if let parent = span.trace.parentSpanID { out += ",\"parentSpanId\":\"\(parent.hex)\"" }
            out += ",\"name\":"
            appendString(span.name, to: &out)
            out += ",\"kind\":\(span.kind.rawValue),\"startTimeUnixNano\":\"\(span.startUnixNanos)\",\"endTimeUnixNano\":\"\(span.endUnixNanos)\",\"attributes\":"
            appendAttributes(span.attributes, to: &out)
            if let message = span.errorMessage {
                out += ",\"status\":{\"code\":2,\"message\":"
                appendString(message, to: &out)
                out += "}"
            }
            out += "}"
        }
        out += "]}]}]}"
        return Array(out.utf8)
    }

    static func appendAttributes(_ attributes: [SpanAttribute], to out: inout String) {
        out += "["
        for (index, attribute) in attributes.enumerated() {
            if index > 0 { out += "," }
            out += "{\"key\":"
            appendString(attribute.key, to: &out)
            out += ",\"value\":{"
            switch attribute.value {
            case .string(let text):
                out += "\"stringValue\":"
                appendString(text, to: &out)
            case .int(let number):
                out += "\"intValue\":\"\(number)\""
            case .bool(let flag):
                out += "\"boolValue\":\(flag)"
            }
            out += "}}"
        }
        out += "]"
    }

    static func appendString(_ text: String, to out: inout String) {
        JSONText.appendQuoted(text, to: &out)
    }
}
