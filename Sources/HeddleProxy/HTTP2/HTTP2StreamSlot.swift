import NIOCore
import NIOHTTP2

/// What a stream of an `HTTP2StreamTable` is told: its frames, the end of a read, changes of
/// its writability, and its close.
protocol HTTP2StreamEvents: AnyObject {
    /// A HEADERS, DATA or RST_STREAM frame for the stream, in order.
    func streamRead(_ payload: HTTP2Frame.FramePayload)
    /// The connection's read is over: frames written in reaction can be flushed.
    func streamReadComplete()
    func streamWritabilityChanged(_ writable: Bool)
    /// The stream is closed: both sides ended it (`reset` nil), one side reset it (its code),
    /// or the connection went away (`reset` nil, the stream's frames stopped short).
    func streamClosed(reset: HTTP2ErrorCode?)
}

/// One stream of a connection driven frame by frame: its ID (given when its first frame is
/// written, for a stream this side opens), its inbound flow control (a window update once half
/// the window has been consumed; none while reads are paused, so the peer stops when the
/// window is spent), and its outbound backlog (bytes handed to the codec and not yet encoded,
/// which makes it unwritable above the high watermark). Replaces a NIO child channel per
/// stream, whose pipeline, handlers and promises cost more than the request itself.
final class HTTP2StreamSlot {
    private(set) var id: HTTP2StreamID?
    /// Strong: an owner may still hold the slot after its connection is gone.
    private let table: HTTP2StreamTable
    var events: (any HTTP2StreamEvents)?

    // Inbound.
    /// Flow-controlled bytes delivered since the last window update.
    var consumed = 0
    /// The peer ended its side: no window update is needed any more.
    var remoteEnded = false
    private(set) var readsPaused = false
    /// Frames received while reads were paused, delivered when they resume (bounded by the
    /// stream's window, which is not reopened meanwhile).
    var held: [HTTP2Frame.FramePayload] = []
    /// The stream closed (normally) while frames were held: the close follows them.
    var closeHeld = false
    /// Has read frames in the connection's current read.
    var touched = false

    // Outbound.
    /// Bytes of DATA written to the codec and not yet encoded for the socket.
    var queued = 0
    /// Below the high watermark (with hysteresis), regardless of the connection.
    var belowWatermark = true
    var isClosed = false
    /// This side reset the stream (a reset the codec sends is its answer to a stream error).
    var resetSent = false
    /// The stream error the codec reset the stream for (an invalid frame from the peer).
    var codecError: (any Error)?

    init(table: HTTP2StreamTable, id: HTTP2StreamID?, events: (any HTTP2StreamEvents)?) {
        self.table = table
        self.id = id
        self.events = events
    }

    /// Queues a frame for the peer (leaves on `flush()`); the first frame of a stream this
    /// side opens gives it its ID.
    func write(_ payload: HTTP2Frame.FramePayload) {
        guard !isClosed else { return }
        if id == nil {
            id = table.register(self)
            guard id != nil else { return }
        }
        table.write(payload, on: self)
    }

    func flush() {
        table.flush()
    }

    /// Whether the peer is taking this stream's bytes (its backlog is below the watermark and
    /// the connection's socket is writable).
    var isWritable: Bool { belowWatermark && table.isWritable }

    /// Stops or resumes delivering this stream's frames (backpressure from the other side of
    /// the proxy). The peer may send up to what is left of the window meanwhile.
    func setReadsPaused(_ paused: Bool) {
        guard paused != readsPaused else { return }
        readsPaused = paused
        if !paused { table.resume(self) }
    }

    /// Resets the stream (RST_STREAM with `code`) unless it is already closed; no event follows.
    func reset(_ code: HTTP2ErrorCode) {
        events = nil
        guard !isClosed else { return }
        if id != nil {
            table.write(.rstStream(code), on: self)
            table.flush()
        } else {
            isClosed = true
        }
    }
}
