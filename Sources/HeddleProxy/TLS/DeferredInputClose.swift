import NIOCore

/// Holds back the end of a connection's input while its TLS handshake is still being
/// verified. NIOSSL treats input closing mid-handshake as a failed handshake, and the mesh's
/// certificate checks run asynchronously: a TCP peer that sends its bytes and half-closes at
/// once would otherwise lose the connection. Sits in front of the TLS handler (next to the
/// socket); the handler after TLS calls `release()` once the handshake has completed, and the
/// input close goes on then.
final class DeferredInputClose: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private var context: ChannelHandlerContext?
    private var handshakeDone = false
    private var held = false

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event, !handshakeDone {
            held = true
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// The handshake completed: passes on an input close held back. The TLS handler decodes
    /// records it holds only when bytes arrive, so an empty read first lets it decode what came
    /// before the end of input (the last data and the peer's close_notify).
    func release() {
        guard !handshakeDone else { return }
        handshakeDone = true
        if held, let context {
            held = false
            context.fireChannelRead(NIOAny(context.channel.allocator.buffer(capacity: 0)))
            context.fireChannelReadComplete()
            context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        }
    }
}
