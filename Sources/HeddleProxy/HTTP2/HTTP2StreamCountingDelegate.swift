import NIOCore
import NIOHTTP2

/// Tells both the connection-management handler (graceful GOAWAY) and the proxy's connection
/// handler (idle timeout, drain) when a client stream opens or closes.
struct HTTP2StreamCountingDelegate: NIOHTTP2StreamDelegate {
    let management: NIOHTTP2ServerConnectionManagementHandler.HTTP2StreamDelegate
    let connection: NIOLoopBound<HTTP2ServerConnectionHandler>

    func streamCreated(_ id: HTTP2StreamID, channel: any Channel) {
        management.streamCreated(id, channel: channel)
        connection.value.streamOpened()
    }

    func streamClosed(_ id: HTTP2StreamID, channel: any Channel) {
        management.streamClosed(id, channel: channel)
        connection.value.streamClosed()
    }
}
