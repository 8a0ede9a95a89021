import HeddleCore
import NIOCore
import NIOHTTP2

/// The HTTP/2 settings and limits of the proxy's two sides: the server side that clients
/// reach, and the client side that connects to HTTP/2 endpoints. Flow-control windows bound
/// what one stream and one connection may have in flight, so a slow reader on either side
/// holds back its peer instead of filling the proxy's memory.
enum HTTP2Configuration {
    /// Streams a client may have open at once on one connection.
    static let maxConcurrentStreams = 250
    /// Each stream's receive window: what a peer may send before the proxy has passed it on.
    static let streamWindow = 256 * 1024
    /// The connection's receive window, shared by its streams.
    static let connectionWindow = 1024 * 1024
    /// Bytes a stream may queue for its peer before it reports itself unwritable, which pauses
    /// reading on the other side of the proxy.
    static let outboundHighWatermark = 64 * 1024
    static let outboundLowWatermark = 32 * 1024

    /// Settings for client connections: `maxConcurrentStreams`, the windows, and a header
    /// list limit from `HTTPSettings.maxHeadBytes`. The flood defences of nio-http2 are set
    /// explicitly: bounded control-frame buffering, CONTINUATION runs, rapid-reset and
    /// stream-error rates, control-frame rates and a glitch budget; header blocks and
    /// `content-length` are validated.
    static func server(_ http: HTTPSettings) -> NIOHTTP2Handler.Configuration {
        var configuration = common()
        configuration.connection.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: maxConcurrentStreams),
            HTTP2Setting(parameter: .initialWindowSize, value: streamWindow),
            HTTP2Setting(parameter: .maxHeaderListSize, value: http.maxHeadBytes),
        ]
        return configuration
    }

    /// Settings for connections to HTTP/2 endpoints: no server push, the same windows, and a
    /// header list limit as generous as the HTTP/1 response limit.
    static func client(_ http: HTTPSettings) -> NIOHTTP2Handler.Configuration {
        var configuration = common()
        configuration.connection.initialSettings = [
            HTTP2Setting(parameter: .enablePush, value: 0),
            HTTP2Setting(parameter: .maxConcurrentStreams, value: 0),
            HTTP2Setting(parameter: .initialWindowSize, value: streamWindow),
            HTTP2Setting(parameter: .maxHeaderListSize, value: max(http.maxHeadBytes, 64 * 1024)),
        ]
        return configuration
    }

    private static func common() -> NIOHTTP2Handler.Configuration {
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        connection.headerBlockValidation = .enabled
        connection.contentLengthValidation = .enabled
        connection.maximumSequentialEmptyDataFrames = 1
        connection.maximumBufferedControlFrames = 10_000
        connection.maximumSequentialContinuationFrames = 5
        connection.maximumRecentlyResetStreams = 32
        connection.maximumConnectionGlitches = 200
        connection.targetWindowSize = connectionWindow
        connection.controlFrameRateLimit.maximumCount = 200
        connection.controlFrameRateLimit.windowLength = .seconds(30)
        var stream = NIOHTTP2Handler.StreamConfiguration()
        stream.targetWindowSize = streamWindow
        stream.outboundBufferSizeHighWatermark = outboundHighWatermark
        stream.outboundBufferSizeLowWatermark = outboundLowWatermark
        stream.streamResetFrameRateLimit.maximumCount = 200
        stream.streamResetFrameRateLimit.windowLength = .seconds(30)
        stream.streamErrorRateLimit.maximumCount = 200
        stream.streamErrorRateLimit.windowLength = .seconds(30)
        return NIOHTTP2Handler.Configuration(connection: connection, stream: stream)
    }
}
