import NIOCore

/// Finds where a message's body ends, for any `HTTP1BodyFraming`, in bytes that arrive in
/// pieces; the caller forwards the bytes unchanged.
///
/// Create one per message from `HTTP1Head.bodyFraming` and feed it the bytes after the head:
/// `.finished(consumed:)` says how many belong to this message, the rest start the next one.
/// With `.none` (or `.contentLength(0)`) the first call finishes at once, consuming nothing.
public struct HTTP1BodyFramer: Sendable {
    private enum Mode: Sendable {
        case counted
        case chunked
        case untilClose
    }

    private let mode: Mode
    private var remaining: UInt64
    private var chunked: ChunkedFramer

    /// A framer for a body framed as `framing`, enforcing the chunk limits of `limits`.
    public init(framing: HTTP1BodyFraming, limits: HTTP1Limits = HTTP1Limits()) {
        chunked = ChunkedFramer(limits: limits)
        switch framing {
        case .none:
            mode = .counted
            remaining = 0
        case .contentLength(let length):
            mode = .counted
            remaining = length
        case .chunked:
            mode = .chunked
            remaining = 0
        case .untilClose:
            mode = .untilClose
            remaining = 0
        }
    }

    /// Whether the body has ended.
    public var isFinished: Bool {
        switch mode {
        case .counted: remaining == 0
        case .chunked: chunked.isFinished
        case .untilClose: false
        }
    }

    /// Whether the connection closing now ends the message cleanly: the body ends at close, or
    /// has already ended. Otherwise a close truncates the message.
    public var canEndAtClose: Bool {
        mode == .untilClose || isFinished
    }

    /// Frames the readable bytes of `buffer`, which continue the body where the previous call
    /// stopped.
    public mutating func advance(over buffer: ByteBuffer) -> HTTP1BodyStep {
        switch mode {
        case .counted:
            let taken = min(UInt64(buffer.readableBytes), remaining)
            remaining -= taken
            return remaining == 0 ? .finished(consumed: Int(taken)) : .inProgress(consumed: Int(taken))
        case .chunked:
            return chunked.advance(over: buffer)
        case .untilClose:
            return .inProgress(consumed: buffer.readableBytes)
        }
    }
}
