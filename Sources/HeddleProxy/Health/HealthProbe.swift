import HeddleCore
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix

/// Runs single health probes; `HealthChecker` takes one so its tests can answer probes by hand.
protocol HealthProber {
    /// Starts a probe of `target` from `eventLoop`. The outcome completes on that loop, at the
    /// latest when the target's timeout has passed.
    func probe(_ target: HealthProbeTarget, on eventLoop: any EventLoop) -> RunningHealthProbe
}

/// A probe in flight: its outcome to come, and a way to end it early.
struct RunningHealthProbe {
    let outcome: EventLoopFuture<HealthProbeOutcome>
    /// Ends the probe at once (it fails, "cancelled") and closes its connection. Call it on the
    /// probe's event loop.
    let cancel: () -> Void
}

/// Probes over real sockets: each probe opens a fresh connection (the proxy's pooled
/// connections would only show that some connection once worked) and closes it when done.
struct SocketHealthProber: HealthProber {
    func probe(_ target: HealthProbeTarget, on eventLoop: any EventLoop) -> RunningHealthProbe {
        let probe = HealthProbe(target: target, eventLoop: eventLoop)
        probe.start()
        return RunningHealthProbe(outcome: probe.outcome) { probe.finish(.failed("cancelled")) }
    }
}

/// One probe of one endpoint: connect (within the timeout), then for HTTP send the `GET` and
/// wait for the response head; the first of an answer, a failure or the timeout decides. The
/// outcome is reported once the connection has closed, so a probe that has finished holds no
/// socket. Touched only on its event loop.
final class HealthProbe {
    static let userAgent = "heddle-health-check"

    let target: HealthProbeTarget
    private let eventLoop: any EventLoop
    private let promise: EventLoopPromise<HealthProbeOutcome>
    private var channel: (any Channel)?
    private var timeout: Scheduled<Void>?
    private var multiplexer: NIOHTTP2Handler.StreamMultiplexer?
    private(set) var finished = false

    init(target: HealthProbeTarget, eventLoop: any EventLoop) {
        self.target = target
        self.eventLoop = eventLoop
        promise = eventLoop.makePromise()
    }

    var outcome: EventLoopFuture<HealthProbeOutcome> { promise.futureResult }

    func start() {
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let limit = target.timeout
        timeout = eventLoop.scheduleTask(in: .nanoseconds(limit.nanosecondsClamped)) {
            bound.value.finish(.failed("no answer within \(limit.configText)"))
        }
        let kind = target.kind
        ClientBootstrap(group: eventLoop)
            .connectTimeout(.nanoseconds(limit.nanosecondsClamped))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let probe = bound.value
                    guard !probe.finished else { throw ChannelError.ioOnClosedChannel }
                    probe.channel = channel
                    switch kind {
                    case .tcp:
                        break
                    case .http1:
                        try channel.pipeline.syncOperations.addHandler(HTTP1HealthProbeHandler(probe: probe))
                    case .http2:
                        let configuration = HTTP2Configuration.client(HTTPSettings())
                        probe.multiplexer = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                            mode: .client, connectionConfiguration: configuration.connection,
                            streamConfiguration: configuration.stream
                        ) { pushed in
                            pushed.close()
                        }
                        try channel.pipeline.syncOperations.addHandler(HTTP2HealthProbeConnectionHandler(probe: probe))
                    }
                }
            }
            .connect(to: target.endpoint.address)
            .whenComplete { result in
                let probe = bound.value
                switch result {
                case .success:
                    probe.connected()
                case .failure(let error):
                    probe.finish(.failed(Self.describe(connectError: error, timeout: limit)))
                }
            }
    }

    private func connected() {
        guard !finished else { return }
        switch target.kind {
        case .tcp:
            finish(.passed("connected"))
        case .http1:
            // The handler sent the request when the connection came up.
            break
        case .http2(let path):
            guard let multiplexer else { return finish(.failed("no HTTP/2 connection")) }
            let bound = NIOLoopBound(self, eventLoop: eventLoop)
            let request = HPACKHeaders([
                (":method", "GET"), (":scheme", "http"), (":authority", target.service), (":path", path),
                ("user-agent", Self.userAgent),
            ])
            let opened = eventLoop.makePromise(of: (any Channel).self)
            multiplexer.createStreamChannel(promise: opened) { stream in
                stream.eventLoop.makeCompletedFuture {
                    try stream.pipeline.syncOperations.addHandler(HTTP2HealthProbeStreamHandler(probe: bound.value))
                }
            }
            opened.futureResult.whenComplete { result in
                switch result {
                case .success(let stream):
                    stream.writeAndFlush(HTTP2Frame.FramePayload.headers(.init(headers: request, endStream: true)), promise: nil)
                case .failure(let error):
                    bound.value.finish(.failed("cannot open an HTTP/2 stream: \(Self.describe(error))"))
                }
            }
        }
    }

    /// The request an HTTP/1.1 probe sends.
    var http1Request: ByteBuffer {
        guard case .http1(let path) = target.kind else { return ByteBuffer() }
        return ByteBuffer(string: "GET \(path) HTTP/1.1\r\nHost: \(target.service)\r\nUser-Agent: \(Self.userAgent)\r\nConnection: close\r\n\r\n")
    }

    /// Ends the probe with `outcome` unless it has ended already: stops the timer, closes the
    /// connection and then reports.
    func finish(_ outcome: HealthProbeOutcome) {
        guard !finished else { return }
        finished = true
        timeout?.cancel()
        timeout = nil
        multiplexer = nil
        guard let channel else {
            promise.succeed(outcome)
            return
        }
        self.channel = nil
        let promise = self.promise
        channel.close(promise: nil)
        channel.closeFuture.whenComplete { _ in promise.succeed(outcome) }
    }

    /// An error in a few words: NIO's HTTP/2 errors describe themselves with the source file
    /// and line they come from, so those give just their name (`UnableToParseFrame`).
    static func describe(_ error: any Error) -> String {
        let text = "\(error)"
        return text.contains("(file:") ? String(describing: type(of: error)) : text
    }

    /// Why connecting failed, in a few words.
    static func describe(connectError error: any Error, timeout: Duration) -> String {
        if let channelError = error as? ChannelError, case .connectTimeout = channelError {
            return "connect timed out after \(timeout.configText)"
        }
        if let io = error as? IOError {
            return "connect failed: \(io.description)"
        }
        if let connect = error as? NIOConnectionError, let first = connect.connectionErrors.first {
            return "connect failed: \(first.error)"
        }
        return "connect failed: \(error)"
    }
}
