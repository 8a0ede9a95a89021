import NIOCore
import NIOHPACK
import NIOHTTP2

/// A copy carried on a stream of the loop's HTTP/2 pool, for a mirror service that speaks
/// HTTP/2 or gRPC: it sends the frames, reads the response to its end, and drops it.
final class MirrorStream: HTTP2UpstreamStreamOwner {
    /// The copy; nil once it has ended.
    private var exchange: MirrorExchange?
    private var stream: HTTP2UpstreamStreamHandler?
    private let frames: [HTTP2Frame.FramePayload]
    private var status: Int?

    init(exchange: MirrorExchange, frames: [HTTP2Frame.FramePayload]) {
        self.exchange = exchange
        self.frames = frames
    }

    /// The stream is open: the copy goes out, unless it timed out meanwhile.
    func attach(_ opened: HTTP2UpstreamStreamHandler) {
        guard exchange != nil else {
            opened.cancel()
            return
        }
        stream = opened
        for frame in frames {
            switch frame {
            case .headers(let block): opened.sendHeaders(block.headers, endStream: block.endStream)
            case .data(let data):
                if case .byteBuffer(let buffer) = data.data { opened.sendData(buffer, endStream: data.endStream) }
            default: break
            }
        }
        opened.flush()
    }

    func failedToOpen(_ failure: ProxyFailure) {
        ended(failure: failure.details)
    }

    /// The copy timed out: the stream is reset.
    func cancel() {
        exchange = nil
        stream?.cancel()
        stream = nil
    }

    // MARK: HTTP2UpstreamStreamOwner

    func upstreamHeaders(_ headers: HPACKHeaders, endStream: Bool) {
        if status == nil, let value = headers.first(name: ":status"), let code = Int(value), code >= 200 {
            status = code
        }
        if endStream { ended(failure: nil) }
    }

    func upstreamData(_ data: ByteBuffer, endStream: Bool) {
        if endStream { ended(failure: nil) }
    }

    func upstreamReadComplete() {}

    func upstreamWritabilityChanged(_ writable: Bool) {}

    func upstreamReset(_ code: HTTP2ErrorCode) {
        stream = nil
        ended(failure: "the mirror reset the stream (\(code))")
    }

    func upstreamClosed() {
        stream = nil
        ended(failure: "the stream closed before the response ended")
    }

    func upstreamFailed(_ failure: ProxyFailure) {
        stream = nil
        ended(failure: failure.details)
    }

    private func ended(failure: String?) {
        guard let exchange else { return }
        self.exchange = nil
        if let stream {
            self.stream = nil
            if failure == nil { stream.finish() } else { stream.cancel() }
        }
        exchange.finish(status: status, failure: failure)
    }
}
