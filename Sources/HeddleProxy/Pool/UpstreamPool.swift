import NIOCore

/// Idle keep-alive connections to endpoints, for one event loop (so a request and its upstream
/// connection share a thread and need no lock). Last in, first out: the warmest connection is
/// reused, the coldest ages out.
final class UpstreamPool {
    private var idle: [EndpointPoolKey: IdleConnections] = [:]
    /// The endpoint last taken from or put back, found again without a lookup: a sidecar's
    /// requests mostly go to the same few endpoints, one after another.
    private var recent: IdleConnections?

    /// One endpoint's idle connections. A class, so `recent` and the dictionary share it.
    private final class IdleConnections {
        let key: EndpointPoolKey
        var stack: [HTTP1UpstreamHandler] = []
        init(key: EndpointPoolKey) { self.key = key }
    }

    private func connections(_ key: EndpointPoolKey, creating: Bool) -> IdleConnections? {
        if let recent, recent.key == key { return recent }
        var found = idle[key]
        if found == nil, creating {
            found = IdleConnections(key: key)
            idle[key] = found
        }
        if found != nil { recent = found }
        return found
    }

    /// An idle, open connection to `key`, taken out of the pool.
    func take(_ key: EndpointPoolKey) -> HTTP1UpstreamHandler? {
        guard let connections = connections(key, creating: false) else { return nil }
        while let connection = connections.stack.popLast() {
            connection.isPooled = false
            if connection.isReusable { return connection }
            connection.close()
        }
        return nil
    }

    /// Puts a connection back after a complete exchange; closes it when the pool is full.
    func put(_ connection: HTTP1UpstreamHandler, now: UInt64, limit: Int) {
        let connections = connections(connection.poolKey, creating: true)!
        guard connection.isReusable, connections.stack.count < limit else {
            connection.close()
            return
        }
        connection.idleSince = now
        connection.isPooled = true
        connections.stack.append(connection)
    }

    /// Forgets a connection that closed while idle.
    func remove(_ connection: HTTP1UpstreamHandler) {
        guard connection.isPooled else { return }
        connection.isPooled = false
        guard let connections = connections(connection.poolKey, creating: false),
              let index = connections.stack.firstIndex(where: { $0 === connection })
        else { return }
        connections.stack.remove(at: index)
        if connections.stack.isEmpty { forget(connections) }
    }

    private func forget(_ connections: IdleConnections) {
        idle[connections.key] = nil
        if recent === connections { recent = nil }
    }

    /// Closes connections idle since before `now - maxIdle`.
    func closeIdle(olderThan maxIdle: UInt64, now: UInt64) {
        for connections in Array(idle.values) {
            let stack = connections.stack
            connections.stack = stack.filter { now - $0.idleSince < maxIdle }
            if connections.stack.isEmpty { forget(connections) }
            for connection in stack where now - connection.idleSince >= maxIdle {
                connection.isPooled = false
                connection.close()
            }
        }
    }

    /// Closes every idle connection (on shutdown).
    func closeAll() {
        let all = idle.values.flatMap(\.stack)
        idle = [:]
        recent = nil
        for connection in all {
            connection.isPooled = false
            connection.close()
        }
    }
}
