/// Distributed tracing: the proxy takes part in W3C Trace Context and exports a span per
/// request by OTLP/HTTP (JSON) to `collector`.
public struct TracingSpec: Hashable, Sendable, Codable {
    /// Where spans go: an OTLP/HTTP traces endpoint, `http://host:4318/v1/traces` (a URL
    /// without a path gets `/v1/traces`).
    public var collector: String
    /// The share of new traces recorded (0…1). A request that arrives with a `traceparent`
    /// follows its caller's decision; a failed request is always recorded.
    public var sampleRate: Double
    /// `service.name` of the spans; nil: the inbound listener's service, else the Proxy
    /// resource's name.
    public var serviceName: String?

    public init(collector: String, sampleRate: Double = 0.01, serviceName: String? = nil) {
        self.collector = collector
        self.sampleRate = sampleRate
        self.serviceName = serviceName
    }

    /// `collector` with the OTLP traces path when it names none.
    public var exportURL: String {
        guard let schemeEnd = collector.firstRange(of: "://") else { return collector }
        let rest = collector[schemeEnd.upperBound...]
        return rest.contains("/") ? collector : collector + "/v1/traces"
    }

    /// Why `url` cannot be a collector address, or nil when it can: `http` or `https`, a
    /// host, an optional port, an optional path; no query or credentials.
    public static func problem(withCollector url: String) -> String? {
        let lower = url.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else {
            return "'\(url)' is not an http:// or https:// URL (an OTLP/HTTP endpoint, such as http://127.0.0.1:4318)"
        }
        if url.contains(where: { $0.isWhitespace || $0 == "\"" || $0 == "\\" || $0.asciiValue.map { $0 < 0x20 } == true }) {
            return "'\(url)' contains a space, quote or control character"
        }
        let rest = url[url.firstRange(of: "://")!.upperBound...]
        let authority = rest.prefix { $0 != "/" }
        if authority.isEmpty { return "'\(url)' names no host" }
        if authority.contains("@") { return "'\(url)' carries credentials; give the collector's address only" }
        if url.contains("?") || url.contains("#") { return "'\(url)' has a query or fragment; give the collector's address and path only" }
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            let port = authority[authority.index(after: colon)...]
            guard let number = Int(port), (1...65535).contains(number) else { return "'\(url)' has an invalid port '\(port)'" }
        }
        return nil
    }
}
