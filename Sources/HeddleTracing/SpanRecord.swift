import W3CTraceContext

/// One recorded span: a request's passage through one proxy.
public struct SpanRecord: Sendable {
    /// OTLP's span kinds that a proxy hop uses.
    public enum Kind: Int, Sendable {
        /// A request received from another workload (the inbound listener, a gateway).
        case server = 2
        /// A request the local app sends out (the outbound listener).
        case client = 3
    }

    public var trace: RequestTrace
    public var name: String
    public var kind: Kind
    public var startUnixNanos: UInt64
    public var endUnixNanos: UInt64
    public var attributes: [SpanAttribute]
    /// Nil: the request succeeded (status unset); else why it failed.
    public var errorMessage: String?

    public init(trace: RequestTrace, name: String, kind: Kind, startUnixNanos: UInt64, endUnixNanos: UInt64, attributes: [SpanAttribute], errorMessage: String?) {
        self.trace = trace
        self.name = name
        self.kind = kind
        self.startUnixNanos = startUnixNanos
        self.endUnixNanos = endUnixNanos
        self.attributes = attributes
        self.errorMessage = errorMessage
    }
}

/// A span or resource attribute (OpenTelemetry semantic-convention names where one exists).
public struct SpanAttribute: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case string(String)
        case int(Int)
        case bool(Bool)
    }

    public var key: String
    public var value: Value

    public init(_ key: String, _ value: String) {
        self.key = key
        self.value = .string(value)
    }

    public init(_ key: String, _ value: Int) {
        self.key = key
        self.value = .int(value)
    }

    public init(_ key: String, _ value: Bool) {
        self.key = key
        self.value = .bool(value)
    }
}
