import Logging
import NIOCore
import NIOTLS
import Prometheus

/// Sits after a listener's TLS handler: counts handshakes, logs a refused peer with the reason
/// (the certificate's fault, a plaintext client, no client certificate, an old TLS version)
/// before the connection closes, and releases an input close held back during the handshake.
/// The inbound listener's mesh peers and a gateway's outside clients each get one.
final class TLSHandshakeGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    /// How a refusal is logged.
    struct Refusal {
        let message: Logger.Message
        let level: Logger.Level
        /// The TLS versions the listener accepts, in words ("TLS 1.3").
        let versionWanted: String
        /// Added to the log line (a gateway's listener name).
        var listener: String?
    }

    /// The mesh peer's check (nil for outside clients, who show no certificate).
    private let peer: PeerCheck?
    private let accepted: Counter?
    private let refused: Counter?
    private let refusal: Refusal
    private let logger: Logger
    private let deferral: DeferredInputClose?
    private var handshakeDone = false

    init(peer: PeerCheck?, accepted: Counter?, refused: Counter?, refusal: Refusal, logger: Logger, deferral: DeferredInputClose? = nil) {
        self.peer = peer
        self.accepted = accepted
        self.refused = refused
        self.refusal = refusal
        self.logger = logger
        self.deferral = deferral
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event, !handshakeDone {
            handshakeDone = true
            accepted?.increment()
            if let peer { logger.debug("mesh peer authenticated", metadata: ["peer": "\(peer.identity ?? "?")"]) }
            context.fireUserInboundEventTriggered(event)
            deferral?.release()
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !handshakeDone else {
            context.fireErrorCaught(error)
            return
        }
        handshakeDone = true
        refused?.increment()
        let reason = peer?.refusal ?? PeerCheck.explain(error, versionWanted: refusal.versionWanted)
        var metadata: Logger.Metadata = ["peer": "\(context.remoteAddress.map { "\($0)" } ?? "?")", "reason": "\(reason)"]
        if let listener = refusal.listener { metadata["listener"] = "\(listener)" }
        RefusalLogLimiter.shared.log(logger, refusal.level, refusal.message, metadata: metadata)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        // Closed before a handshake completed or failed (a port probe, a client that gave up).
        handshakeDone = true
        context.fireChannelInactive()
    }
}
