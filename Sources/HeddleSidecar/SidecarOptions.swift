import HeddleCore

/// How a sidecar joins the mesh: which control plane, which service it fronts, and where its
/// listeners and its app are.
public struct SidecarOptions: Sendable {
    /// The control plane's base URL (`http://127.0.0.1:7470`).
    public var controlPlane: String
    /// The service this instance belongs to.
    public var service: String
    /// The local app's port (on `appHost`).
    public var appPort: Int
    public var appHost: String = "127.0.0.1"
    /// What the app speaks: `http1`, `http2` or `grpc`.
    public var appProtocol: UpstreamProtocol = .http1
    public var outbound = HostPort(host: "127.0.0.1", port: 4140)
    public var inbound = HostPort(host: "0.0.0.0", port: 4143)
    public var admin = HostPort(host: "127.0.0.1", port: 4191)
    /// The address other proxies reach this instance's inbound listener at (registered with
    /// the control plane); by default the inbound address, or 127.0.0.1 when that is 0.0.0.0.
    public var advertiseHost: String?
    /// Labels registered with the instance (`zone`, `version`, ...).
    public var labels: [String: String] = [:]
    public var weight = 1
    /// How long the control plane keeps the instance without a heartbeat.
    public var leaseSeconds = 10
    /// Where the last accepted configuration is kept, to serve from at the next start when
    /// the control plane cannot be reached.
    public var snapshotPath: String
    /// How long SIGTERM waits for requests in flight (the proxy's `http.drainGracePeriod`;
    /// nil keeps its default, 30 s).
    public var drainGracePeriod: Duration?
    /// The services (hosts) the app calls: the proxy is pushed only those, the routes that may
    /// serve them and what those routes send to. Nil: the whole mesh.
    public var calls: [String]?
    /// On-demand discovery: the proxy also learns each service the app calls on its first
    /// request to it (the request waits for its configuration). Needs a `CallLearner` given
    /// to the proxy server; `calls`, if any, are known from the start.
    public var learnCalls = false
    /// With `learnCalls`: how long a learned service may go without a request before the
    /// proxy forgets it (it leaves the watch; the next request learns it again); nil: never.
    public var forgetCallsAfter: Duration? = .seconds(600)
    /// The join token that gets the proxy its first workload certificate (nil: none, unless one
    /// is kept in `identityDirectory` from an earlier run).
    public var joinToken: String?
    /// Where the workload key and certificate are kept (default: beside the snapshot).
    public var identityDirectory: String?
    /// Mutual TLS on the inbound listener: `strict` (the default) needs a workload identity
    /// (a join token, or a certificate kept from an earlier run).
    public var inboundTLS: InboundTLSMode = .strict
    /// How often the trust bundle is fetched from the control plane: a root rotation's phases
    /// reach the proxy within it.
    public var trustRefreshInterval: Duration = .seconds(30)

    /// Where the workload identity is kept.
    public var identityPath: String { identityDirectory ?? snapshotPath + ".identity" }
    /// Register the instance only once the app accepts connections on its port.
    public var waitForApp = true
    /// The app's health check: `GET` of this path (2xx or 3xx passes) for an `http1` app;
    /// nil, or an app that speaks `http2`/`grpc`, checks that its port accepts connections.
    public var appHealthPath: String?
    /// How often the app is checked; three failures in a row report the instance unhealthy to
    /// the control plane, two passes healthy again.
    public var appHealthInterval: Duration = .seconds(5)

    public init(controlPlane: String, service: String, appPort: Int, snapshotPath: String) {
        self.controlPlane = controlPlane
        self.service = service
        self.appPort = appPort
        self.snapshotPath = snapshotPath
    }

    /// Spans per request to an OTLP collector (`--trace-collector`); nil: none.
    public var tracing: TracingSpec?

    /// The `Proxy` resource the sidecar runs with: its listeners, and the app behind the
    /// inbound one. `http` and `tracing` hold settings given by flags.
    public var proxyDocument: String {
        """
        apiVersion: heddle.dev/v1alpha1
        kind: Proxy
        metadata:
          name: \(service)-sidecar
        spec:
          outbound:
            address: "\(outbound)"
          inbound:
            address: "\(inbound)"
            appAddress: "\(appHost):\(appPort)"
            appProtocol: \(appProtocol.rawValue)
            tls: \(inboundTLS.rawValue)
            service: \(service)
          admin:
            address: "\(admin)"
        """ + (drainGracePeriod.map { "\n  http:\n    drainGracePeriod: \($0.configText)" } ?? "")
            + (tracing.map { "\n  tracing:\n    collector: \"\($0.collector)\"\n    sampleRate: \($0.sampleRate)\n    serviceName: \"\($0.serviceName ?? service)\"" } ?? "")
    }

    /// The host the control plane reaches the admin endpoint at: the admin listener's own, or
    /// the registered host when it listens on every address.
    public var registeredAdminHost: String {
        admin.host == "0.0.0.0" || admin.host == "::" ? registeredHost : admin.host
    }

    /// The host registered for this instance.
    public var registeredHost: String {
        advertiseHost ?? (inbound.host == "0.0.0.0" || inbound.host == "::" ? "127.0.0.1" : inbound.host)
    }
}
