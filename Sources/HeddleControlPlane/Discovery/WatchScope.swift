/// What a watch is pushed: the whole mesh, or only what a proxy whose app calls `calls` needs —
/// those services, the routes that may serve them (by hostname), and every service those
/// routes send to (backends, failovers, mirrors).
struct WatchScope: Hashable, Sendable {
    /// The hosts the app calls; nil for everything.
    let calls: Set<String>?

    static let everything = WatchScope(calls: nil)
}
