import NIOCore
import NIOHPACK
import NIOHTTP2

/// An HTTP/1.1 probe's connection: sends the `GET` once connected, and ends the probe with the
/// first final response head (`HealthProbeOutcome.http1Response`), bytes that are not a
/// response, an error, or the connection closing first.
final class HTTP1HealthProbeHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let probe: HealthProbe
    private var received: ByteBuffer?
    private var sent = false

    init(probe: HealthProbe) {
        self.probe = probe
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { send(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        send(context: context)
        context.fireChannelActive()
    }

    private func send(context: ChannelHandlerContext) {
        guard !sent else { return }
        sent = true
        context.writeAndFlush(wrapOutboundOut(probe.http1Request), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        received.setOrWriteBuffer(&bytes)
        if let received, let outcome = HealthProbeOutcome.http1Response(received) {
            probe.finish(outcome)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        probe.finish(.failed("connection closed before a response"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        probe.finish(.failed("connection error: \(HealthProbe.describe(error))"))
        context.close(promise: nil)
    }
}

/// Watches an HTTP/2 probe's connection: a protocol error (the endpoint does not speak h2c)
/// or the connection closing ends the probe if its stream has not.
final class HTTP2HealthProbeConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame

    private let probe: HealthProbe

    init(probe: HealthProbe) {
        self.probe = probe
    }

    func channelInactive(context: ChannelHandlerContext) {
        probe.finish(.failed("connection closed before a response"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        probe.finish(.failed("HTTP/2 error: \(HealthProbe.describe(error))"))
        context.close(promise: nil)
    }
}

/// An HTTP/2 probe's stream: the response's `:status` decides (interim 1xx heads skipped); a
/// reset or the stream closing first fails the probe.
final class HTTP2HealthProbeStreamHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload

    private let probe: HealthProbe

    init(probe: HealthProbe) {
        self.probe = probe
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .headers(let headers):
            guard let status = headers.headers.first(name: ":status").flatMap({ Int($0) }) else {
                return probe.finish(.failed("response without :status"))
            }
            if (100..<200).contains(status) { return }
            probe.finish(.status(status))
        case .rstStream(let code):
            probe.finish(.failed("stream reset: \(code)"))
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        probe.finish(.failed("stream closed before a response"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        probe.finish(.failed("HTTP/2 stream error: \(HealthProbe.describe(error))"))
        context.close(promise: nil)
    }
}
