/// How the control plane paces its pushes and keeps its leases.
public struct ControlPlaneSettings: Hashable, Sendable {
    /// After a change, how long pushes wait for more changes: a burst of writes within it gives
    /// one push per watcher. Pushes go out at most once per interval under constant change.
    public var pushDelay: Duration = .milliseconds(75)
    /// How often leases are checked (an instance is marked unhealthy at most this late).
    public var leaseSweepInterval: Duration = .seconds(1)
    /// How often an idle watch stream gets a keep-alive, so a dead peer is noticed and
    /// intermediaries don't close the connection.
    public var keepAliveInterval: Duration = .seconds(15)
    /// The lease of an instance loaded from the store at start, until it registers again (the
    /// lease asked for at registration is not stored).
    public var restoredLeaseSeconds = 10
    /// With a shared store (etcd): how often the writes of other control planes are read.
    public var followInterval: Duration = .milliseconds(200)
    /// With a shared store: how often the certificate authority is read again, for a root
    /// rotation's phase another replica ran (proxies fetch the trust bundle every few seconds).
    public var identityFollowInterval: Duration = .seconds(1)
    /// With a shared store: how long following it may fail before this control plane stops
    /// serving watches (its configuration may be stale) and says so in `/ready`.
    public var staleAfter: Duration = .seconds(5)
    /// The most services one proxy's watch may name (declared and learned on demand): a proxy
    /// that calls more is better served the whole mesh.
    public var maxLearnedCalls = 1000
    /// The trust domain of the workload identities instances prove (`spiffe://<it>/service/…`),
    /// pushed with each instance reached over mutual TLS.
    public var trustDomain = "heddle.local"

    public init() {}
}
