import HeddleCore
import Logging
import NIOCore

/// Decides from a connection's first bytes whether it is HTTP/1.x, HTTP/2 with prior knowledge
/// (the client preface) or opaque TCP, then puts the right handler in its place and hands it
/// those bytes. A connection that sends nothing within the detection timeout is treated as a
/// server-speaks-first TCP protocol (when the listener has a TCP service), else as HTTP.
final class ProtocolDetectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    enum Verdict: Equatable {
        case http1
        /// The HTTP/2 client connection preface (h2c with prior knowledge).
        case http2
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

    private let peer: PeerCheck?

    init(loop: LoopContext, listener: String, tcpService: String?, logger: Logger, peer: PeerCheck? = nil) {
        self.loop = loop
        self.peer = peer
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
        case .http2:
            decide(.http2, context: context)
        case .tcp:
            if tcpService == nil {
                logger.info("connection is not HTTP and the listener has no tcpService; closing", metadata: ["listener": "\(listener)"])
                decide(.http1, context: context)
            } else {
                decide(.tcp, context: context)
            }
        }
    }

    /// The HTTP/2 client connection preface (RFC 9113 §3.4).
    static let http2Preface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    /// HTTP/2 once the whole 24-byte client preface has arrived (more bytes are needed while
    /// the bytes so far are a prefix of it); else HTTP/1 if the bytes start with a method token
    /// (uppercase letters) and a space; TCP as soon as a byte rules that out.
    static func classify(_ bytes: UnsafeRawBufferPointer) -> Verdict {
        let compared = min(bytes.count, http2Preface.count)
        if compared > 0, bytes.prefix(compared).elementsEqual(http2Preface.prefix(compared)) {
            return compared == http2Preface.count ? .http2 : .needMoreBytes
        }
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
        case .tcp: TCPProxyHandler(loop: loop, listener: listener, service: tcpService ?? "", logger: logger, peer: peer)
        // Installs the HTTP/2 codec in front of itself (after this handler) when added.
        case .http2: HTTP2ServerConnectionHandler(loop: loop, listener: listener, logger: logger, peer: peer)
        case .http1, .needMoreBytes: HTTP1ProxyHandler(loop: loop, listener: listener, logger: logger, peer: peer)
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
