import HeddleCore
import Logging
import NIOCore

/// Decides from a connection's first bytes whether it is HTTP/1.x or opaque TCP, then puts the
/// right handler in its place and hands it those bytes. A connection that sends nothing within
/// the detection timeout is treated as a server-speaks-first TCP protocol (when the listener
/// has a TCP service), else as HTTP.
final class ProtocolDetectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    enum Verdict: Equatable {
        case http1
        case tcp
        case needMoreBytes
    }

    private let loop: LoopContext
    private let listener: String
    private let tcpService: String?
    private let logger: Logger
    private var buffered: ByteBuffer?
    private var timer: Scheduled<Void>?
    private var decided = false

    init(loop: LoopContext, listener: String, tcpService: String?, logger: Logger) {
        self.loop = loop
        self.listener = listener
        self.tcpService = tcpService
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let timeout = loop.snapshot.http.detectionTimeout
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: .nanoseconds(timeout.nanosecondsClamped)) {
            let (handler, context) = bound.value
            handler.decide(handler.tcpService == nil ? .http1 : .tcp, context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if buffered == nil { buffered = bytes } else { buffered!.writeBuffer(&bytes) }
        let verdict = buffered!.withUnsafeReadableBytes { Self.classify($0) }
        switch verdict {
        case .needMoreBytes:
            return
        case .http1:
            decide(.http1, context: context)
        case .tcp:
            if tcpService == nil {
                logger.info("connection is not HTTP and the listener has no tcpService; closing", metadata: ["listener": "\(listener)"])
                decide(.http1, context: context)
            } else {
                decide(.tcp, context: context)
            }
        }
    }

    /// HTTP/1 if the bytes start with a method token (uppercase letters) and a space, or with
    /// the HTTP/2 preface's `PRI ` (answered by the HTTP/1 handler with a clear error); TCP as
    /// soon as a byte rules that out.
    static func classify(_ bytes: UnsafeRawBufferPointer) -> Verdict {
        for (index, byte) in bytes.prefix(24).enumerated() {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                continue
            case UInt8(ascii: " ") where index > 0:
                return .http1
            default:
                return .tcp
            }
        }
        return bytes.count >= 24 ? .tcp : .needMoreBytes
    }

    private func decide(_ verdict: Verdict, context: ChannelHandlerContext) {
        guard !decided else { return }
        decided = true
        timer?.cancel()
        timer = nil
        let next: any ChannelHandler = switch verdict {
        case .tcp: TCPProxyHandler(loop: loop, listener: listener, service: tcpService ?? "", logger: logger)
        case .http1, .needMoreBytes: HTTP1ProxyHandler(loop: loop, listener: listener, logger: logger)
        }
        do {
            try context.pipeline.syncOperations.addHandler(next, position: .after(self))
        } catch {
            context.close(promise: nil)
            return
        }
        if let bytes = buffered {
            buffered = nil
            context.fireChannelRead(wrapInboundOut(bytes))
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
