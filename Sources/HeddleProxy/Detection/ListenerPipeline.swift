import HeddleCore
import Logging
import NIOCore

/// The first handler of a client connection, by the listener's protocol.
enum ListenerPipeline {
    static func firstHandler(
        protocol listenerProtocol: ListenerProtocol, listener: String, tcpService: String?,
        context: LoopContext, logger: Logger, peer: PeerCheck? = nil
    ) -> any ChannelHandler {
        switch listenerProtocol {
        case .http1:
            return HTTP1ProxyHandler(loop: context, listener: listener, logger: logger, peer: peer)
        case .http2:
            // Installs the HTTP/2 codec in front of itself when added.
            return HTTP2ServerConnectionHandler(loop: context, listener: listener, logger: logger, peer: peer)
        case .tcp:
            return TCPProxyHandler(loop: context, listener: listener, service: tcpService ?? "", logger: logger, peer: peer)
        case .auto:
            return ProtocolDetectionHandler(loop: context, listener: listener, tcpService: tcpService, logger: logger, peer: peer)
        }
    }
}
