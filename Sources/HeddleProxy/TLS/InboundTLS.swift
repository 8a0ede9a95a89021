import HeddleCore
import Logging
import NIOCore
import NIOSSL
import Prometheus

/// Mutual TLS on the inbound listener: what a new connection from the mesh gets in front of
/// the proxy's handlers, by the listener's mode.
enum InboundTLS {
    /// Sets up `channel`: with `strict`, TLS 1.3 with a client certificate of this mesh (a
    /// connection arriving before the proxy has its own certificate is closed, and logged);
    /// with `permissive`, the same for connections that start a TLS handshake, and plaintext
    /// for the others; with `disabled`, plaintext. `next` makes the proxy's first handler, given
    /// the handshake's peer check (nil for plaintext).
    static func configure(
        _ channel: any Channel, mode: InboundTLSMode, tls: MeshTLS?, metrics: ProxyMetrics, logger: Logger,
        next: @escaping (PeerCheck?) -> any ChannelHandler
    ) throws {
        switch mode {
        case .disabled:
            try channel.pipeline.syncOperations.addHandler(next(nil))
        case .strict:
            try addTLS(to: channel, position: .last, tls: tls, metrics: metrics, logger: logger, next: next)
        case .permissive:
            try channel.pipeline.syncOperations.addHandler(TLSOrPlaintextHandler { context, startsTLS in
                if startsTLS {
                    try addTLS(to: context.channel, position: .after(context.handler), tls: tls, metrics: metrics, logger: logger, next: next)
                } else {
                    try context.pipeline.syncOperations.addHandler(next(nil), position: .after(context.handler))
                }
            })
        }
    }

    private static func addTLS(
        to channel: any Channel, position: ChannelPipeline.SynchronousOperations.Position, tls: MeshTLS?, metrics: ProxyMetrics, logger: Logger,
        next: (PeerCheck?) -> any ChannelHandler
    ) throws {
        guard let tls, let credentials = tls.credentials else {
            metrics.tlsInboundRefused.increment()
            logger.warning("refused a mesh connection: this proxy has no workload certificate yet, and its inbound listener requires mutual TLS", metadata: ["peer": "\(channel.remoteAddress.map { "\($0)" } ?? "?")"])
            throw ChannelError.inappropriateOperationForState
        }
        let peer = PeerCheck()
        let handler = NIOSSLServerHandler(
            context: credentials.serverContext,
            customVerificationCallback: peer.callback(verifier: credentials.verifier, now: tls.clock(), eventLoop: channel.eventLoop))
        let deferral = DeferredInputClose()
        let guardHandler = TLSHandshakeGuard(
            peer: peer, accepted: metrics.tlsInboundAccepted, refused: metrics.tlsInboundRefused,
            refusal: .init(message: "refused a mesh connection", level: .warning, versionWanted: "TLS 1.3"), logger: logger, deferral: deferral)
        let handlers: [any ChannelHandler] = [deferral, handler, guardHandler, next(peer)]
        switch position {
        case .after(let anchor):
            // Added in reverse so each lands right after the anchor, ahead of the previous.
            for added in handlers.reversed() {
                try channel.pipeline.syncOperations.addHandler(added, position: .after(anchor))
            }
        default:
            try channel.pipeline.syncOperations.addHandlers(handlers)
        }
    }
}

/// For a `permissive` inbound listener: looks at the first byte of a connection, and sets it up
/// for TLS when it starts a TLS record (a handshake, 0x16), else for plaintext; then steps aside.
final class TLSOrPlaintextHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let decide: (ChannelHandlerContext, Bool) throws -> Void
    private var decided = false

    init(decide: @escaping (ChannelHandlerContext, Bool) throws -> Void) {
        self.decide = decide
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        guard !decided, let first = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) else {
            context.fireChannelRead(data)
            return
        }
        decided = true
        do {
            try decide(context, first == 0x16)
        } catch {
            context.close(promise: nil)
            return
        }
        context.fireChannelRead(data)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
