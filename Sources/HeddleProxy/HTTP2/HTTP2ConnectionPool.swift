import HeddleCore
import Logging
import NIOCore
import NIOHTTP2
import NIOPosix
import NIOSSL

/// HTTP/2 connections from one event loop to each endpoint, shared by every stream on the loop
/// (so a stream and its upstream stream share a thread and need no lock). One connection per
/// endpoint carries streams up to the peer's concurrency limit; another is opened when it is
/// full or going away. Connections with no stream are closed after `upstreamIdleTimeout`.
/// An endpoint with a workload identity is a mesh peer: its connections are mutual TLS 1.3,
/// and the peer must prove that identity.
final class HTTP2ConnectionPool {
    private var connections: [String: [HTTP2UpstreamConnection]] = [:]
    private let tls: MeshTLS?
    private let metrics: ProxyMetrics

    init(tls: MeshTLS?, metrics: ProxyMetrics) {
        self.tls = tls
        self.metrics = metrics
    }

    /// Opens a stream to `endpoint` for `owner`: on a connection with room, else on a new one.
    /// `completion` gets the stream's handler once the connection is ready, or why not.
    func openStream(
        to endpoint: ResolvedEndpoint, owner: any HTTP2UpstreamStreamOwner, http: HTTPSettings,
        eventLoop: any EventLoop, logger: Logger,
        completion: @escaping (Result<HTTP2UpstreamStreamHandler, ProxyFailure>) -> Void
    ) {
        let connection = connections[endpoint.poolKey]?.first { $0.acceptsStreams }
            ?? connect(to: endpoint, http: http, eventLoop: eventLoop, logger: logger)
        connection.reserveStream { result in
            switch result {
            case .failure(let failure):
                connection.streamClosed()
                completion(.failure(failure))
            case .success(let table):
                completion(.success(HTTP2UpstreamStreamHandler(owner: owner, connection: connection, table: table)))
            }
        }
    }

    private func connect(to endpoint: ResolvedEndpoint, http: HTTPSettings, eventLoop: any EventLoop, logger: Logger) -> HTTP2UpstreamConnection {
        var tlsHandler: NIOSSLClientHandler?
        var check: PeerCheck?
        if endpoint.identity != nil {
            switch PeerCheck.outbound(tls, to: endpoint, eventLoop: eventLoop) {
            case .success(let made):
                (tlsHandler, check) = (made.handler, made.check)
            case .failure(let failure):
                let connection = HTTP2UpstreamConnection(key: endpoint.key, pool: self, logger: logger)
                connection.connectFailed(failure)
                return connection
            }
        }
        let connection = HTTP2UpstreamConnection(key: endpoint.poolKey, pool: self, logger: logger, tls: check.map { ($0, metrics) })
        connections[endpoint.poolKey, default: []].append(connection)
        let configuration = HTTP2Configuration.client(http)
        let bound = NIOLoopBound(connection, eventLoop: eventLoop)
        let boundTLS = NIOLoopBound(tlsHandler, eventLoop: eventLoop)
        ClientBootstrap(group: eventLoop)
            .connectTimeout(.nanoseconds(http.connectTimeout.nanosecondsClamped))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let handler = boundTLS.value {
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                    try channel.pipeline.syncOperations.addHandler(FlushCoalescingHandler())
                    // The codec without a stream multiplexer: the connection's handler drives
                    // the streams' frames through its table (see `HTTP2StreamTable`).
                    let table = HTTP2StreamTable(mode: .client, eventLoop: channel.eventLoop)
                    try channel.pipeline.syncOperations.addHandler(NIOHTTP2Handler(
                        mode: .client, frameDelegate: table,
                        connectionConfiguration: configuration.connection, streamConfiguration: configuration.stream))
                    bound.value.attach(table: table)
                    try channel.pipeline.syncOperations.addHandler(bound.value)
                }
            }
            .connect(to: endpoint.address)
            .whenComplete { result in
                switch result {
                case .success:
                    break  // ready at `channelActive`, once the codec has sent its preface
                case .failure(let error):
                    bound.value.connectFailed(Self.failure(connecting: endpoint, error: error, http: http))
                }
            }
        return connection
    }

    /// `connect-timeout` or `connect-failed`, with what the system said.
    static func failure(connecting endpoint: ResolvedEndpoint, error: any Error, http: HTTPSettings) -> ProxyFailure {
        if let channelError = error as? ChannelError, case .connectTimeout = channelError {
            return ProxyFailure(.connectTimeout, "connecting to \(endpoint.key) took longer than \(http.connectTimeout.configText)")
        }
        let described: String = if let io = error as? IOError {
            io.description
        } else if let connect = error as? NIOConnectionError, let first = connect.connectionErrors.first {
            "\(first.error)"
        } else {
            "\(error)"
        }
        return ProxyFailure(.connectFailed, "cannot connect to \(endpoint.key): \(described)")
    }

    /// Forgets a connection that closed or is going away.
    func remove(_ connection: HTTP2UpstreamConnection) {
        guard var list = connections[connection.key], let index = list.firstIndex(where: { $0 === connection }) else { return }
        list.remove(at: index)
        connections[connection.key] = list.isEmpty ? nil : list
    }

    /// Closes connections that have carried no stream since before `now - maxIdle`.
    func closeIdle(olderThan maxIdle: UInt64, now: UInt64) {
        var idle: [HTTP2UpstreamConnection] = []
        for list in connections.values {
            for connection in list where connection.state == .ready && connection.openStreams == 0 && now &- connection.idleSince >= maxIdle && now >= connection.idleSince {
                idle.append(connection)
            }
        }
        for connection in idle { connection.retire() }
    }

    /// Closes every connection (on shutdown).
    func closeAll() {
        let all = connections.values.joined()
        connections = [:]
        for connection in all { connection.close() }
    }
}
