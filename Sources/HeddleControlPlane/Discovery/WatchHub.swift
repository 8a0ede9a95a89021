import HeddleAPI
import Synchronization

/// Every open watch: whom it is for, what it was last sent, and its mailbox. Delivering never
/// waits on a reader; a watch leaves the hub when its mailbox finishes.
final class WatchHub: Sendable {
    /// One open watch, as `connections()` reports it.
    struct Connection: Hashable, Sendable {
        var proxyID: String
        var service: String?
        var scope: WatchScope
        var lastVersion: Int64
    }

    private struct Watcher {
        var connection: Connection
        var lastResources: [PushedResource]
        var mailbox: WatchMailbox
    }

    private struct State {
        var nextID: UInt64 = 0
        var watchers: [UInt64: Watcher] = [:]
        var closed = false
    }

    private let state = Mutex(State())

    init() {}

    /// Opens a watch whose first event is `initial`; nil once the hub is closed.
    func open(proxyID: String, service: String?, scope: WatchScope, initial: ConfigPush) -> WatchMailbox? {
        let id = state.withLock { state -> UInt64? in
            guard !state.closed else { return nil }
            state.nextID += 1
            return state.nextID
        }
        guard let id else { return nil }
        let mailbox = WatchMailbox { [weak self] in
            _ = self?.state.withLock { $0.watchers.removeValue(forKey: id) }
        }
        mailbox.offer(initial)
        let added = state.withLock { state -> Bool in
            guard !state.closed else { return false }
            let connection = Connection(proxyID: proxyID, service: service, scope: scope, lastVersion: initial.version)
            state.watchers[id] = Watcher(connection: connection, lastResources: initial.resources, mailbox: mailbox)
            return true
        }
        guard added else {
            mailbox.finish()
            return nil
        }
        return mailbox
    }

    /// The distinct scopes of the open watches.
    var scopes: Set<WatchScope> {
        state.withLock { Set($0.watchers.values.map(\.connection.scope)) }
    }

    /// Offers each watch the push for its scope, when it differs from the last one the watch
    /// was sent.
    func deliver(_ pushes: [WatchScope: ConfigPush]) {
        let offers = state.withLock { state -> [(WatchMailbox, ConfigPush)] in
            var offers: [(WatchMailbox, ConfigPush)] = []
            for (id, watcher) in state.watchers {
                guard let push = pushes[watcher.connection.scope], push.resources != watcher.lastResources else { continue }
                state.watchers[id]?.lastResources = push.resources
                state.watchers[id]?.connection.lastVersion = push.version
                offers.append((watcher.mailbox, push))
            }
            return offers
        }
        for (mailbox, push) in offers { mailbox.offer(push) }
    }

    /// Gives the watches of `proxyID` with scope `from` the scope `to`, and offers them `push`
    /// (the snapshot of `to`) at once when it differs from what they were last sent.
    func rescope(proxyID: String, from: WatchScope, to: WatchScope, push: ConfigPush) {
        let offers = state.withLock { state -> [WatchMailbox] in
            var offers: [WatchMailbox] = []
            for (id, watcher) in state.watchers where watcher.connection.proxyID == proxyID && watcher.connection.scope == from {
                state.watchers[id]?.connection.scope = to
                guard push.resources != watcher.lastResources else { continue }
                state.watchers[id]?.lastResources = push.resources
                state.watchers[id]?.connection.lastVersion = push.version
                offers.append(watcher.mailbox)
            }
            return offers
        }
        for mailbox in offers { mailbox.offer(push) }
    }

    /// Asks every watch for a keep-alive.
    func keepAlive() {
        for mailbox in state.withLock({ $0.watchers.values.map(\.mailbox) }) { mailbox.keepAlive() }
    }

    var connections: [Connection] {
        state.withLock { $0.watchers.values.map(\.connection) }
    }

    /// True once `close()` was called.
    var isClosed: Bool { state.withLock(\.closed) }

    /// Ends every watch open now, leaving the hub open (the control plane lost its store: its
    /// proxies go to another, and come back when it answers again).
    func finishAll() {
        let mailboxes = state.withLock { state in state.watchers.values.map(\.mailbox) }
        for mailbox in mailboxes { mailbox.finish() }
    }

    /// Ends every watch and refuses new ones (shutdown).
    func close() {
        let mailboxes = state.withLock { state -> [WatchMailbox] in
            state.closed = true
            return state.watchers.values.map(\.mailbox)
        }
        for mailbox in mailboxes { mailbox.finish() }
    }
}
