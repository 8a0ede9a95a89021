/// What a listener expects on its port: detected from the first bytes (`auto`: HTTP/1.x, the
/// HTTP/2 preface, else opaque TCP), or declared.
public enum ListenerProtocol: String, CaseIterable, Sendable, Codable {
    case auto
    case http1
    /// HTTP/2 over cleartext with prior knowledge (h2c): every connection starts with the
    /// HTTP/2 preface. gRPC clients dialling without TLS speak this.
    case http2
    case tcp
}

/// The settings of one `heddle proxy`: its listeners, limits, timeouts, access log and tracing.
public struct ProxySpec: Hashable, Sendable, Codable {
    /// App → mesh: apps use it as their HTTP proxy or name the service in `Host`.
    public var outbound: ListenerSpec
    /// Mesh → local app; nil when the proxy only sends (a gateway or a client-only sidecar).
    public var inbound: InboundListenerSpec?
    /// `/live`, `/ready`, `/metrics`, `/config`.
    public var admin: HostPort
    /// Named standalone listeners: the ingress/egress gateway.
    public var gateways: [ListenerSpec]
    public var accessLog: AccessLogSpec
    /// Spans per request to an OTLP collector; nil: the proxy passes trace headers on as they
    /// are and records nothing.
    public var tracing: TracingSpec?
    public var http: HTTPSettings

    public init(
        outbound: ListenerSpec = ListenerSpec(name: "outbound", address: HostPort(host: "127.0.0.1", port: 4140)),
        inbound: InboundListenerSpec? = nil,
        admin: HostPort = HostPort(host: "127.0.0.1", port: 4191),
        gateways: [ListenerSpec] = [],
        accessLog: AccessLogSpec = AccessLogSpec(),
        tracing: TracingSpec? = nil,
        http: HTTPSettings = HTTPSettings()
    ) {
        self.tracing = tracing
        self.outbound = outbound
        self.inbound = inbound
        self.admin = admin
        self.gateways = gateways
        self.accessLog = accessLog
        self.http = http
    }

    /// Every listener that routes by `HTTPRoute` (outbound and gateways), by name.
    public var routingListeners: [ListenerSpec] { [outbound] + gateways }
}

/// A listener that routes requests to services.
public struct ListenerSpec: Hashable, Sendable, Codable {
    public var name: String
    public var address: HostPort
    public var `protocol`: ListenerProtocol
    /// Where opaque TCP goes: the service for connections that are not HTTP. Required when
    /// `protocol` is `tcp`; with `auto`, non-HTTP connections are refused without it.
    public var tcpService: String?
    /// A limit on the requests the listener accepts, all routes together; nil means none.
    public var rateLimit: RateLimitSpec?
    /// TLS for external clients (gateway listeners only): the operator's certificates, chosen
    /// by the name the client asks for (SNI). Nil: plaintext.
    public var tls: GatewayTLSSpec?

    public init(name: String, address: HostPort, protocol: ListenerProtocol = .auto, tcpService: String? = nil, rateLimit: RateLimitSpec? = nil, tls: GatewayTLSSpec? = nil) {
        self.tls = tls
        self.name = name
        self.address = address
        self.protocol = `protocol`
        self.tcpService = tcpService
        self.rateLimit = rateLimit
    }
}

/// A gateway listener's TLS termination: certificates by host name, the first being the one
/// served to a client that names no host (or one no certificate lists).
public struct GatewayTLSSpec: Hashable, Sendable, Codable {
    public struct CertificateSpec: Hashable, Sendable, Codable {
        /// Host names it serves: exact (`shop.example.com`) or a wildcard (`*.example.com`).
        public var hosts: [String]
        /// Files: the certificate chain (leaf first) and its private key, PEM.
        public var certificate: String
        public var privateKey: String

        public init(hosts: [String], certificate: String, privateKey: String) {
            self.hosts = hosts
            self.certificate = certificate
            self.privateKey = privateKey
        }
    }

    /// The oldest TLS version accepted from clients: `1.2` (the default) or `1.3`.
    public enum MinimumVersion: String, CaseIterable, Sendable, Codable {
        case tls12 = "1.2"
        case tls13 = "1.3"
    }

    public var certificates: [CertificateSpec]
    public var minimumVersion: MinimumVersion

    public init(certificates: [CertificateSpec], minimumVersion: MinimumVersion = .tls12) {
        self.certificates = certificates
        self.minimumVersion = minimumVersion
    }
}

/// Whether the inbound listener requires mutual TLS from the proxies that call it.
public enum InboundTLSMode: String, CaseIterable, Sendable, Codable {
    /// Only TLS 1.3 with a client certificate of this mesh (the default): a plaintext or
    /// wrongly-signed peer is refused, and the refusal logged with its reason.
    case strict
    /// Mutual TLS from mesh peers, and plaintext from anything else (no `heddle-client-id`):
    /// for migrating callers into the mesh; never the default.
    case permissive
    /// Plaintext only: for a proxy without a workload identity.
    case disabled
}

/// The listener for traffic from the mesh to the app beside this proxy.
public struct InboundListenerSpec: Hashable, Sendable, Codable {
    public var address: HostPort
    /// The local app's address.
    public var appAddress: HostPort
    public var `protocol`: ListenerProtocol
    /// What the local app speaks: `http1` (the default), or `http2` / `grpc` for an app that
    /// serves h2c (a gRPC server). Requests from the mesh reach it in that protocol.
    public var appProtocol: UpstreamProtocol
    /// A limit on the requests the app is sent; nil means none.
    public var rateLimit: RateLimitSpec?
    public var tls: InboundTLSMode
    /// The service this proxy's app is: the `AuthorizationPolicy` resources that target it
    /// decide who may call (nil: none apply).
    public var service: String?

    public init(
        address: HostPort = HostPort(host: "0.0.0.0", port: 4143), appAddress: HostPort, protocol: ListenerProtocol = .auto,
        appProtocol: UpstreamProtocol = .http1, rateLimit: RateLimitSpec? = nil, tls: InboundTLSMode = .strict, service: String? = nil
    ) {
        self.tls = tls
        self.service = service
        self.address = address
        self.appAddress = appAddress
        self.protocol = `protocol`
        self.appProtocol = appProtocol
        self.rateLimit = rateLimit
    }
}

/// Whether and how requests are written to the access log (one JSON line each).
public struct AccessLogSpec: Hashable, Sendable, Codable {
    public enum Mode: String, CaseIterable, Sendable, Codable {
        case off
        case full
        case sampled
    }

    public var mode: Mode
    /// The share of requests logged in `sampled` mode (0…1); failed requests are always logged.
    public var sampleRate: Double

    public init(mode: Mode = .off, sampleRate: Double = 0.01) {
        self.mode = mode
        self.sampleRate = sampleRate
    }
}

/// Limits and timeouts of HTTP handling, with defaults that are safe without configuration.
public struct HTTPSettings: Hashable, Sendable {
    /// Largest request or response head; larger request heads are answered 431.
    public var maxHeadBytes = 32 * 1024
    public var maxHeaderCount = 100
    /// Time allowed to receive a complete request head once the connection is waiting for one
    /// (slowloris defence); the connection is closed after it.
    public var headerReadTimeout: Duration = .seconds(10)
    /// A downstream keep-alive connection with no request in progress is closed after this;
    /// it is also the longest pause allowed within a response body before the exchange is cut.
    public var idleTimeout: Duration = .seconds(60)
    /// Time allowed for the response head once the request is sent (answered 504 after it);
    /// while a request body uploads, it counts from the body's last bytes.
    public var requestTimeout: Duration = .seconds(15)
    public var connectTimeout: Duration = .seconds(2)
    /// How long a pooled upstream connection may sit unused before it is closed.
    public var upstreamIdleTimeout: Duration = .seconds(30)
    /// Pooled idle connections kept per endpoint and event loop.
    public var maxIdlePerEndpoint = 64
    /// How long protocol detection waits for the first bytes before treating the connection as
    /// opaque TCP (server-speaks-first protocols send nothing).
    public var detectionTimeout: Duration = .seconds(1)
    /// On SIGTERM, how long in-flight requests may take to finish before the proxy exits.
    public var drainGracePeriod: Duration = .seconds(30)

    public init() {}
}

extension HTTPSettings: Codable {
    enum CodingKeys: String, CodingKey {
        case maxHeadBytes, maxHeaderCount, headerReadTimeout, idleTimeout, requestTimeout, connectTimeout
        case upstreamIdleTimeout, maxIdlePerEndpoint, detectionTimeout, drainGracePeriod
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(maxHeadBytes, forKey: .maxHeadBytes)
        try container.encode(maxHeaderCount, forKey: .maxHeaderCount)
        try container.encode(headerReadTimeout.configText, forKey: .headerReadTimeout)
        try container.encode(idleTimeout.configText, forKey: .idleTimeout)
        try container.encode(requestTimeout.configText, forKey: .requestTimeout)
        try container.encode(connectTimeout.configText, forKey: .connectTimeout)
        try container.encode(upstreamIdleTimeout.configText, forKey: .upstreamIdleTimeout)
        try container.encode(maxIdlePerEndpoint, forKey: .maxIdlePerEndpoint)
        try container.encode(detectionTimeout.configText, forKey: .detectionTimeout)
        try container.encode(drainGracePeriod.configText, forKey: .drainGracePeriod)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func duration(_ key: CodingKeys, _ fallback: Duration) throws -> Duration {
            guard let text = try container.decodeIfPresent(String.self, forKey: key) else { return fallback }
            guard let value = Duration(configText: text) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "not a duration")
            }
            return value
        }
        self.init()
        maxHeadBytes = try container.decodeIfPresent(Int.self, forKey: .maxHeadBytes) ?? maxHeadBytes
        maxHeaderCount = try container.decodeIfPresent(Int.self, forKey: .maxHeaderCount) ?? maxHeaderCount
        headerReadTimeout = try duration(.headerReadTimeout, headerReadTimeout)
        idleTimeout = try duration(.idleTimeout, idleTimeout)
        requestTimeout = try duration(.requestTimeout, requestTimeout)
        connectTimeout = try duration(.connectTimeout, connectTimeout)
        upstreamIdleTimeout = try duration(.upstreamIdleTimeout, upstreamIdleTimeout)
        maxIdlePerEndpoint = try container.decodeIfPresent(Int.self, forKey: .maxIdlePerEndpoint) ?? maxIdlePerEndpoint
        detectionTimeout = try duration(.detectionTimeout, detectionTimeout)
        drainGracePeriod = try duration(.drainGracePeriod, drainGracePeriod)
    }
}
