import NIOCore

/// Turns the many flushes of an HTTP/2 connection's streams into one per event-loop tick: the
/// first flush schedules a real one at the end of the current batch of work, and the ones
/// after it join it. Streams flush on their own (nio-http2 flushes the connection for each
/// stream outside a read), so without this every response on a multiplexed connection would
/// cost a system call.
final class FlushCoalescingHandler: ChannelOutboundHandler {
    typealias OutboundIn = Any

    private var scheduled = false

    func flush(context: ChannelHandlerContext) {
        guard !scheduled else { return }
        scheduled = true
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let (handler, context) = bound.value
            guard handler.scheduled else { return }
            handler.scheduled = false
            context.flush()
        }
    }

    /// A close sends what is waiting for the scheduled flush first.
    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if scheduled {
            scheduled = false
            context.flush()
        }
        context.close(mode: mode, promise: promise)
    }
}
