import NIOCore

/// Idle keep-alive connections to endpoints, for one event loop (so a request and its upstream
/// connection share a thread and need no lock). Last in, first out: the warmest connection is
/// reused, the coldest ages out.
final class UpstreamPool {
    private var idle: [String: [HTTP1UpstreamHandler]] = [:]

    /// An idle, open connection to `key`, taken out of the pool.
    func take(_ key: String) -> HTTP1UpstreamHandler? {
        // Popping through the dictionary's modify accessor keeps the array uniquely referenced,
        // so no copy is made.
        while let connection = idle[key]?.popLast() {
            connection.isPooled = false
            if connection.isReusable { return connection }
            connection.close()
        }
        return nil
    }

    /// Puts a connection back after a complete exchange; closes it when the pool is full.
    func put(_ connection: HTTP1UpstreamHandler, key: String, now: UInt64, limit: Int) {
        guard connection.isReusable, (idle[key]?.count ?? 0) < limit else {
            connection.close()
            return
        }
        connection.idleSince = now
        connection.isPooled = true
        idle[key, default: []].append(connection)
    }

    /// Forgets a connection that closed while idle.
    func remove(_ connection: HTTP1UpstreamHandler, key: String) {
        guard connection.isPooled else { return }
        connection.isPooled = false
        guard var stack = idle[key], let index = stack.firstIndex(where: { $0 === connection }) else { return }
        stack.remove(at: index)
        idle[key] = stack.isEmpty ? nil : stack
    }

    /// Closes connections idle since before `now - maxIdle`.
    func closeIdle(olderThan maxIdle: UInt64, now: UInt64) {
        for (key, stack) in idle {
            let keep = stack.filter { now - $0.idleSince < maxIdle }
            idle[key] = keep.isEmpty ? nil : keep
            for connection in stack where now - connection.idleSince >= maxIdle {
                connection.isPooled = false
                connection.close()
            }
        }
    }

    /// Closes every idle connection (on shutdown).
    func closeAll() {
        let all = idle.values.joined()
        idle = [:]
        for connection in all {
            connection.isPooled = false
            connection.close()
        }
    }
}
