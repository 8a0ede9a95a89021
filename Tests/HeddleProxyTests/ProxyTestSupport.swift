import HeddleCore
import HeddleHTTP1
import HeddlePolicy
import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import HeddleProxy

// Shared helpers for the HeddleProxy unit tests: heads parsed from text, configurations from
// YAML, and a minimal `RouteRequest`.

/// The request head of `text`; records an issue (and throws) when it does not parse.
func requestHead(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> HTTP1Head {
    var fields: [HTTP1Field] = []
    let result = HTTP1HeadParser.parseRequest(ByteBuffer(string: text), fields: &fields)
    guard case .head(let head, _) = result else {
        Issue.record("request did not parse: \(result)", sourceLocation: sourceLocation)
        throw HeadParseFailure()
    }
    return head
}

/// The response head of `text` (and how many bytes it took); records an issue (and throws)
/// when it does not parse.
func responseHead(
    _ text: String, requestMethod: HTTPMethodKind = .get, sourceLocation: SourceLocation = #_sourceLocation
) throws -> HTTP1Head {
    try parsedResponse(ByteBuffer(string: text), requestMethod: requestMethod, sourceLocation: sourceLocation).head
}

/// `buffer` parsed as a response: the head and the bytes it took.
func parsedResponse(
    _ buffer: ByteBuffer, requestMethod: HTTPMethodKind = .get, sourceLocation: SourceLocation = #_sourceLocation
) throws -> (head: HTTP1Head, consumed: Int) {
    var fields: [HTTP1Field] = []
    let result = HTTP1HeadParser.parseResponse(buffer, requestMethod: requestMethod, fields: &fields)
    guard case .head(let head, let consumed) = result else {
        Issue.record("response did not parse: \(result)", sourceLocation: sourceLocation)
        throw HeadParseFailure()
    }
    return (head, consumed)
}

/// `buffer` parsed back as a request head; records an issue (and throws) when the proxy
/// produced something unparseable.
func reparsedRequest(_ buffer: ByteBuffer, sourceLocation: SourceLocation = #_sourceLocation) throws -> HTTP1Head {
    var fields: [HTTP1Field] = []
    let result = HTTP1HeadParser.parseRequest(buffer, fields: &fields)
    guard case .head(let head, let consumed) = result else {
        Issue.record("rewritten request did not parse: \(result)", sourceLocation: sourceLocation)
        throw HeadParseFailure()
    }
    #expect(consumed == buffer.readableBytes, "the rewritten head is followed by stray bytes", sourceLocation: sourceLocation)
    return head
}

struct HeadParseFailure: Error {}

/// The readable bytes of `buffer` as text.
func text(_ buffer: ByteBuffer) -> String {
    String(buffer: buffer)
}

extension HTTP1Head {
    /// The fields as `(name, value)` pairs in order, names as received.
    var fieldPairs: [(String, String)] {
        fields.map { (string($0.name), string($0.value)) }
    }

    /// Every value of the fields named `lowercaseName` (ignoring case), in order.
    func values(_ lowercaseName: String) -> [String] {
        fields.filter { bytesEqual($0.name, lowercaseASCII: lowercaseName) }.map { string($0.value) }
    }
}

/// A minimal `RouteRequest` for looking up a rule in a `RouteTable`.
struct TestRouteRequest: RouteRequest {
    var host: Substring
    var path: Substring
    var method: Substring = "GET"

    init(_ host: String, _ path: String = "/", method: String = "GET") {
        self.host = Substring(host)
        self.path = Substring(path)
        self.method = Substring(method)
    }

    func headerValues(_ lowercasedName: String) -> [Substring] { [] }
    func queryValue(_ name: String) -> Substring? { nil }
}

/// A `Service` document named `name` with the given endpoint addresses.
func serviceYAML(_ name: String, addresses: [String] = ["10.0.0.1:8080"], extra: String = "") -> String {
    """
    apiVersion: heddle.dev/v1alpha1
    kind: Service
    metadata:
      name: \(name)
    spec:
      endpoints:
    \(addresses.map { "    - address: \"\($0)\"" }.joined(separator: "\n"))
    \(extra)
    """
}

/// An `HTTPRoute` document named `name` whose `spec` is `spec` (YAML indented by two spaces).
func routeYAML(_ name: String, spec: String) -> String {
    """
    apiVersion: heddle.dev/v1alpha1
    kind: HTTPRoute
    metadata:
      name: \(name)
    spec:
    \(spec)
    """
}

/// Documents joined as one multi-document YAML stream.
func documents(_ parts: String...) -> String {
    parts.joined(separator: "\n---\n") + "\n"
}

/// A validated configuration from YAML; records the errors (and throws) when it is refused.
func loadConfig(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> MeshConfig {
    do {
        return try MeshConfig.load(yaml: yaml)
    } catch {
        Issue.record("configuration refused: \(error.errors.map(\.description))", sourceLocation: sourceLocation)
        throw error
    }
}

/// A logger that drops everything, so handlers under test stay quiet.
let quietLogger = Logger(label: "heddle-proxy-tests", factory: { _ in SwiftLogNoOpLogHandler() })

/// A connected embedded channel whose first handler is made by `makeHandler` from a loop
/// context over `yaml` (by default one service, `web`, and no routes). Nothing touches a
/// socket: an upstream connection cannot be made on an embedded loop, so only exchanges the
/// proxy answers itself can be driven this way.
struct EmbeddedProxy {
    let loop = EmbeddedEventLoop()
    let channel: EmbeddedChannel
    let context: LoopContext

    init(yaml: String = documents(serviceYAML("web")), makeHandler: (LoopContext) -> any ChannelHandler) throws {
        channel = EmbeddedChannel(loop: loop)
        let snapshot = ProxySnapshot(generation: 1, config: try loadConfig(yaml), resolved: Resolution())
        context = LoopContext(
            eventLoop: loop, snapshot: snapshot, metrics: ProxyMetrics(), accessLog: AccessLog(spec: AccessLogSpec()), seed: 1)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.pipeline.syncOperations.addHandler(makeHandler(context))
    }

    func has<Handler: ChannelHandler>(_ type: Handler.Type) -> Bool {
        (try? channel.pipeline.syncOperations.handler(type: type)) != nil
    }

    /// Sends `text` from the client.
    func send(_ text: String) throws {
        try channel.writeInbound(ByteBuffer(string: text))
    }

    /// Everything written to the client so far.
    func written() throws -> ByteBuffer {
        var all = ByteBuffer()
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
            all.writeBuffer(&buffer)
        }
        return all
    }

    /// Everything written to the client so far, as text.
    func outboundText() throws -> String {
        String(buffer: try written())
    }

    func finish() {
        _ = try? channel.finish(acceptAlreadyClosed: true)
    }
}
