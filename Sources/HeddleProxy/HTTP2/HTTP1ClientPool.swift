import HeddleCore
import HeddleHTTP1
import NIOCore
import NIOPosix

/// Idle keep-alive HTTP/1.1 connections from one event loop to each endpoint, for HTTP/2
/// streams whose backend speaks HTTP/1.1. Last in, first out: the warmest connection is
/// reused, the coldest ages out after `upstreamIdleTimeout`.
final class HTTP1ClientPool {
    private var idle: [String: [HTTP1TranslatingUpstreamHandler]] = [:]
    private var limit = 64

    /// A connection to `endpoint` for `owner`: an idle one at once, else a new one when it
    /// has connected; or why not.
    func lease(
        _ endpoint: ResolvedEndpoint, owner: HTTP2StreamProxyHandler, http: HTTPSettings, eventLoop: any EventLoop,
        completion: @escaping (Result<HTTP1TranslatingUpstreamHandler, ProxyFailure>) -> Void
    ) {
        limit = http.maxIdlePerEndpoint
        while let connection = idle[endpoint.key]?.popLast() {
            connection.isPooled = false
            if connection.isReusable {
                connection.begin(owner: owner)
                completion(.success(connection))
                return
            }
            connection.close()
        }
        let limits = HTTP1Limits(maxHeadBytes: max(http.maxHeadBytes, 64 * 1024), maxHeaderCount: max(http.maxHeaderCount, 200))
        let handler = HTTP1TranslatingUpstreamHandler(key: endpoint.key, pool: self, limits: limits)
        let bound = NIOLoopBound(handler, eventLoop: eventLoop)
        let boundCompletion = NIOLoopBound(completion, eventLoop: eventLoop)
        let boundOwner = NIOLoopBound(owner, eventLoop: eventLoop)
        ClientBootstrap(group: eventLoop)
            .connectTimeout(.nanoseconds(http.connectTimeout.nanosecondsClamped))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(bound.value)
                }
            }
            .connect(to: endpoint.address)
            .whenComplete { result in
                switch result {
                case .success:
                    bound.value.begin(owner: boundOwner.value)
                    boundCompletion.value(.success(bound.value))
                case .failure(let error):
                    boundCompletion.value(.failure(HTTP2ConnectionPool.failure(connecting: endpoint, error: error, http: http)))
                }
            }
    }

    /// Keeps a connection after a complete exchange; closes it when the pool is full.
    func put(_ connection: HTTP1TranslatingUpstreamHandler, now: UInt64) {
        guard connection.isReusable, (idle[connection.key]?.count ?? 0) < limit else {
            connection.close()
            return
        }
        connection.idleSince = now
        connection.isPooled = true
        idle[connection.key, default: []].append(connection)
    }

    /// Forgets a connection that closed while idle.
    func remove(_ connection: HTTP1TranslatingUpstreamHandler) {
        guard connection.isPooled else { return }
        connection.isPooled = false
        guard var stack = idle[connection.key], let index = stack.firstIndex(where: { $0 === connection }) else { return }
        stack.remove(at: index)
        idle[connection.key] = stack.isEmpty ? nil : stack
    }

    /// Closes connections idle since before `now - maxIdle`.
    func closeIdle(olderThan maxIdle: UInt64, now: UInt64) {
        for (key, stack) in idle {
            let expired = stack.filter { now >= $0.idleSince && now - $0.idleSince >= maxIdle }
            guard !expired.isEmpty else { continue }
            let keep = stack.filter { !(now >= $0.idleSince && now - $0.idleSince >= maxIdle) }
            idle[key] = keep.isEmpty ? nil : keep
            for connection in expired {
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
