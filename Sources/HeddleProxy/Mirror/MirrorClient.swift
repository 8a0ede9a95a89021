import HeddleCore
import HeddlePolicy
import Logging
import NIOCore
import NIOHTTP2
import NIOPosix

/// Sends copies of requests to mirror services from one event loop, fire and forget: a copy
/// goes on a connection of its own (HTTP/1.1, from this client's pool) or a stream of the
/// loop's HTTP/2 pool, never on the live request's, and nothing of its fate reaches the live
/// exchange. At most `maxInFlight` copies are in flight per loop (past it a copy is skipped),
/// each is given the proxy's `requestTimeout` to be answered, and every copy ends in exactly
/// one of `heddle_mirrored_requests_total`'s outcomes: `sent` (the mirror answered, whatever
/// the status), `failed` (no endpoint, a failed connect, a reset, a bad response, the timeout)
/// or `skipped` (not sent: the in-flight bound, or a body not kept whole).
///
/// Touched only on its loop, like everything in `LoopContext`.
final class MirrorClient {
    /// Copies in flight on one loop at most.
    static let maxInFlight = 64

    private unowned let loop: LoopContext
    /// Copies sent and not yet ended.
    private(set) var inFlight = 0
    /// Idle HTTP/1.1 connections to mirror endpoints, by endpoint key; last in, first out.
    private var idle: [String: [MirrorConnection]] = [:]

    init(loop: LoopContext) {
        self.loop = loop
    }

    /// Sends `request` to each of `services` (indices in `snapshot`, the one the request was
    /// routed with), each to an endpoint its balancer picks.
    func send(_ request: MirrorRequest, to services: [Int], snapshot: ProxySnapshot, logger: Logger) {
        var http1: ByteBuffer??
        var http2: [HTTP2Frame.FramePayload]??
        let current = loop.snapshot
        for index in services {
            guard let serviceIndex = currentIndex(of: index, in: snapshot) else { continue }
            let service = current.services[serviceIndex]
            guard inFlight < Self.maxInFlight else {
                loop.metrics.recordMirror(service: service.name, outcome: "skipped")
                continue
            }
            let now = NIODeadline.now().uptimeNanoseconds
            guard let picked = loop.pickEndpoint(service: serviceIndex, hash: request.hashKey(for: service), now: Instant(nanoseconds: now)),
                  picked < service.endpoints.count
            else {
                failedAtOnce(service.name, "service '\(service.name)' has no endpoint available", logger: logger)
                continue
            }
            switch service.spec.protocol {
            case .http1:
                if http1 == nil { http1 = .some(request.http1Bytes()) }
                guard let bytes = http1 ?? nil else {
                    failedAtOnce(service.name, "the request cannot be written as HTTP/1.1", logger: logger)
                    continue
                }
                let exchange = begin(service: service, index: serviceIndex, endpoint: picked, now: now, logger: logger)
                sendHTTP1(bytes, isHead: request.isHead, exchange: exchange, http: current.http)
            case .http2, .grpc:
                if http2 == nil { http2 = .some(request.http2Frames()) }
                guard let frames = http2 ?? nil else {
                    failedAtOnce(service.name, "the request cannot be written as HTTP/2", logger: logger)
                    continue
                }
                let exchange = begin(service: service, index: serviceIndex, endpoint: picked, now: now, logger: logger)
                sendHTTP2(frames, exchange: exchange, http: current.http, logger: logger)
            case .tcp:
                // Configuration validation keeps TCP services out of mirrors.
                continue
            }
        }
    }

    /// Counts copies for `services` that are not made: the request's body was not kept whole.
    func skip(_ services: [Int], snapshot: ProxySnapshot, because reason: String, logger: Logger) {
        for index in services {
            guard let serviceIndex = currentIndex(of: index, in: snapshot) else { continue }
            let name = loop.snapshot.services[serviceIndex].name
            loop.metrics.recordMirror(service: name, outcome: "skipped")
            logger.debug("mirror request skipped", metadata: ["service": "\(name)", "reason": "\(reason)"])
        }
    }

    /// The index in the loop's current snapshot of `snapshot`'s service `index` (a reload may
    /// have moved or removed it).
    private func currentIndex(of index: Int, in snapshot: ProxySnapshot) -> Int? {
        guard index >= 0, index < snapshot.services.count else { return nil }
        let current = snapshot.generation == loop.snapshot.generation ? index : loop.snapshot.serviceIndex[snapshot.services[index].name]
        guard let current, current < loop.snapshot.services.count, current < loop.destinations.count else { return nil }
        return current
    }

    private func begin(service: ResolvedService, index: Int, endpoint: Int, now: UInt64, logger: Logger) -> MirrorExchange {
        inFlight += 1
        let ticket = loop.destinations[index].balancer.requestStarted(endpoint, now: Instant(nanoseconds: now))
        let exchange = MirrorExchange(
            client: self, service: service.name, endpoint: service.endpoints[endpoint], ticket: ticket,
            started: now, logger: logger)
        exchange.armTimeout(in: loop.snapshot.requestTimeoutNanos, on: loop.eventLoop)
        return exchange
    }

    private func failedAtOnce(_ service: String, _ details: String, logger: Logger) {
        loop.metrics.recordMirror(service: service, outcome: "failed")
        logger.debug("mirror request failed", metadata: ["service": "\(service)", "details": "\(details)"])
    }

    /// An exchange ended (once): the in-flight count, the outcome's count, and the balancer's
    /// and outlier detection's view of the mirror endpoint. `success` is false for a failure
    /// or a 5xx answer.
    func ended(_ exchange: MirrorExchange, ticket: BalancerTicket, success: Bool, failure: String?) {
        inFlight -= 1
        let now = NIODeadline.now().uptimeNanoseconds
        loop.metrics.recordMirror(service: exchange.service, outcome: failure == nil ? "sent" : "failed")
        loop.finish(ticket, service: loop.snapshot.serviceIndex[exchange.service] ?? -1, success: success, startedAt: exchange.started, now: now)
        if let failure {
            exchange.logger.debug(
                "mirror request failed",
                metadata: ["service": "\(exchange.service)", "endpoint": "\(exchange.endpoint.key)", "details": "\(failure)"])
        }
    }

    // MARK: HTTP/1.1

    private func sendHTTP1(_ bytes: ByteBuffer, isHead: Bool, exchange: MirrorExchange, http: HTTPSettings) {
        let endpoint = exchange.endpoint
        if let connection = takeIdle(endpoint.key) {
            connection.start(exchange, bytes: bytes, isHead: isHead)
            return
        }
        let connection = MirrorConnection(key: endpoint.key, client: self)
        let bound = NIOLoopBound((client: self, connection: connection, exchange: exchange), eventLoop: loop.eventLoop)
        ClientBootstrap(group: loop.eventLoop)
            .connectTimeout(.nanoseconds(http.connectTimeout.nanosecondsClamped))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(bound.value.connection)
                }
            }
            .connect(to: endpoint.address)
            .whenComplete { result in
                let (client, connection, exchange) = bound.value
                switch result {
                case .success:
                    if exchange.isFinished {
                        // Timed out while connecting: the connection serves the next copy.
                        client.release(connection)
                    } else {
                        connection.start(exchange, bytes: bytes, isHead: isHead)
                    }
                case .failure(let error):
                    exchange.finish(status: nil, failure: "cannot connect to \(endpoint.key): \(error)")
                }
            }
    }

    private func takeIdle(_ key: String) -> MirrorConnection? {
        while let connection = idle[key]?.popLast() {
            connection.isPooled = false
            if connection.isReusable { return connection }
            connection.close()
        }
        return nil
    }

    /// Keeps a connection whose last copy ended cleanly, up to the proxy's
    /// `maxIdlePerEndpoint` (and the in-flight bound) per endpoint; else closes it.
    func release(_ connection: MirrorConnection) {
        let limit = min(loop.snapshot.http.maxIdlePerEndpoint, Self.maxInFlight)
        guard connection.isReusable, (idle[connection.key]?.count ?? 0) < limit else {
            connection.close()
            return
        }
        connection.idleSince = NIODeadline.now().uptimeNanoseconds
        connection.isPooled = true
        idle[connection.key, default: []].append(connection)
    }

    /// Forgets a connection that closed while idle.
    func remove(_ connection: MirrorConnection) {
        guard connection.isPooled else { return }
        connection.isPooled = false
        guard var stack = idle[connection.key], let index = stack.firstIndex(where: { $0 === connection }) else { return }
        stack.remove(at: index)
        idle[connection.key] = stack.isEmpty ? nil : stack
    }

    /// Closes connections idle since before `now - maxIdle`.
    func closeIdle(olderThan maxIdle: UInt64, now: UInt64) {
        for (key, stack) in idle {
            let expired = stack.filter { now &- $0.idleSince >= maxIdle }
            guard !expired.isEmpty else { continue }
            let keep = stack.filter { now &- $0.idleSince < maxIdle }
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

    // MARK: HTTP/2

    private func sendHTTP2(_ frames: [HTTP2Frame.FramePayload], exchange: MirrorExchange, http: HTTPSettings, logger: Logger) {
        let stream = MirrorStream(exchange: exchange, frames: frames)
        exchange.carried(by: .stream(stream))
        loop.h2Pool.openStream(to: exchange.endpoint, owner: stream, http: http, eventLoop: loop.eventLoop, logger: logger) { result in
            switch result {
            case .success(let opened): stream.attach(opened)
            case .failure(let failure): stream.failedToOpen(failure)
            }
        }
    }
}
