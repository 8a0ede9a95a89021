/// What a watch is pushed: the whole mesh, or only what a proxy whose app calls `calls` needs —
/// those services, the routes that may serve them (by hostname), and every service those
/// routes send to (backends, failovers, mirrors) — and the authorization policies of its own
/// service.
struct WatchScope: Hashable, Sendable {
    /// The hosts the app calls; nil for everything.
    let calls: Set<String>?
    /// The proxy's own service, whose `AuthorizationPolicy` resources a scoped watch gets (the
    /// whole mesh's watch gets every policy, so it is nil there and one snapshot serves all).
    let service: String?

    init(calls: Set<String>?, service: String? = nil) {
        self.calls = calls
        self.service = calls == nil ? nil : service
    }

    static let everything = WatchScope(calls: nil)
}
