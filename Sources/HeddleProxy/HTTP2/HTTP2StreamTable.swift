import NIOCore
import NIOHTTP2

/// The streams of one HTTP/2 connection, driven frame by frame by the connection's handler,
/// which sits after a `NIOHTTP2Handler` with no stream multiplexer. NIO's multiplexer makes a
/// child channel per stream (a pipeline, handlers, promises): on the mesh's two-hop path that
/// was a quarter to a third of each proxy's CPU per request (`BENCHMARKS.md`). Here a stream
/// is a `HTTP2StreamSlot` in a table keyed by stream ID, and the table does what the child
/// channels did: it routes frames, sends window updates (per stream as its frames are
/// consumed, for the connection as the codec reports its window), holds a paused stream's
/// frames, tracks each stream's outbound backlog through the codec's frame delegate, and
/// reports closes from the codec's `StreamClosedEvent`.
final class HTTP2StreamTable: NIOHTTP2FrameDelegate {
    private var streams: [HTTP2StreamID: HTTP2StreamSlot] = [:]
    private let eventLoop: any EventLoop
    private var context: ChannelHandlerContext?
    private var isOpen = true
    private var nextLocalID: HTTP2StreamID
    /// Streams that read frames in the current read, told when it completes.
    private var touched: [HTTP2StreamSlot] = []
    /// Streams whose backlog fell below the low watermark, told on the next loop turn: the
    /// codec reports a frame in the middle of writing it, when it must not be re-entered.
    private var drained: [HTTP2StreamSlot] = []
    private var connectionWritable = true
    private let streamWindow: Int
    private let connectionWindow: Int
    private let highWatermark: Int
    private let lowWatermark: Int
    /// The codec sent GOAWAY with an error: the error it reports is the connection's.
    private(set) var sentConnectionError = false
    /// The stream the codec itself just reset for a stream error; the error it reports next
    /// is that stream's.
    private var codecReset: HTTP2StreamSlot?

    init(
        mode: NIOHTTP2Handler.ParserMode, eventLoop: any EventLoop,
        streamWindow: Int = HTTP2Configuration.streamWindow, connectionWindow: Int = HTTP2Configuration.connectionWindow,
        highWatermark: Int = HTTP2Configuration.outboundHighWatermark, lowWatermark: Int = HTTP2Configuration.outboundLowWatermark
    ) {
        self.eventLoop = eventLoop
        nextLocalID = mode == .client ? 1 : 2
        self.streamWindow = streamWindow
        self.connectionWindow = connectionWindow
        self.highWatermark = highWatermark
        self.lowWatermark = lowWatermark
    }

    /// The connection handler's context (after the codec): where frames are written.
    func attach(_ context: ChannelHandlerContext) {
        self.context = context
        connectionWritable = context.channel.isWritable
    }

    /// Streams open now.
    var count: Int { streams.count }

    var isWritable: Bool { connectionWritable }

    /// Whether another stream can be opened by this side (stream IDs are not exhausted).
    var canOpenStreams: Bool { isOpen && nextLocalID < HTTP2StreamID.maxID.advanced(by: -2) }

    /// A stream this side opens; its ID is given when its first frame is written.
    func openStream(events: any HTTP2StreamEvents) -> HTTP2StreamSlot {
        HTTP2StreamSlot(table: self, id: nil, events: events)
    }

    // MARK: Writing (called by slots)

    /// The next stream ID for `slot`; nil once the connection is closed or out of IDs, in
    /// which case the slot is closed (its owner hears of it on the next loop turn).
    func register(_ slot: HTTP2StreamSlot) -> HTTP2StreamID? {
        guard canOpenStreams, context != nil else {
            slot.isClosed = true
            let bound = NIOLoopBound(slot, eventLoop: eventLoop)
            eventLoop.execute { [self] in finishClose(bound.value, reset: nil) }
            return nil
        }
        let id = nextLocalID
        nextLocalID = id.advanced(by: 2)
        streams[id] = slot
        return id
    }

    func write(_ payload: HTTP2Frame.FramePayload, on slot: HTTP2StreamSlot) {
        guard let id = slot.id, let context else { return }
        if case .rstStream = payload {
            slot.resetSent = true
        } else if case .data(let data) = payload {
            slot.queued += data.data.readableBytes
            if slot.belowWatermark, slot.queued > highWatermark {
                slot.belowWatermark = false
                if connectionWritable { slot.events?.streamWritabilityChanged(false) }
            }
        }
        context.write(NIOAny(HTTP2Frame(streamID: id, payload: payload)), promise: nil)
    }

    func flush() {
        context?.flush()
    }

    // MARK: Reading (called by the connection's handler)

    /// Routes a frame read from the peer to its stream. A HEADERS frame opening a stream the
    /// peer initiated gets a slot, whose events `accept` provides (nil refuses the stream).
    /// Connection-level frames are left to the caller.
    func read(_ frame: HTTP2Frame, accept: (HTTP2StreamSlot) -> (any HTTP2StreamEvents)?) {
        switch frame.payload {
        case .headers(let headers):
            let slot: HTTP2StreamSlot
            if let known = streams[frame.streamID] {
                slot = known
            } else {
                guard isOpen, frame.streamID.isClientInitiated == (nextLocalID.isServerInitiated) else { return }
                slot = HTTP2StreamSlot(table: self, id: frame.streamID, events: nil)
                streams[frame.streamID] = slot
                guard let events = accept(slot) else {
                    slot.reset(.refusedStream)
                    return
                }
                slot.events = events
            }
            if headers.endStream { slot.remoteEnded = true }
            deliver(frame.payload, to: slot)
        case .data(let data):
            guard let slot = streams[frame.streamID] else { return }
            if data.endStream { slot.remoteEnded = true }
            deliver(frame.payload, to: slot)
        case .rstStream:
            guard let slot = streams[frame.streamID] else { return }
            slot.remoteEnded = true
            deliver(frame.payload, to: slot)
        default:
            return
        }
    }

    private func deliver(_ payload: HTTP2Frame.FramePayload, to slot: HTTP2StreamSlot) {
        if slot.readsPaused || !slot.held.isEmpty {
            slot.held.append(payload)
            return
        }
        consume(payload, on: slot)
        if !slot.touched {
            slot.touched = true
            touched.append(slot)
        }
        slot.events?.streamRead(payload)
    }

    /// Counts a delivered DATA frame against the stream's window.
    private func consume(_ payload: HTTP2Frame.FramePayload, on slot: HTTP2StreamSlot) {
        guard case .data(let data) = payload else { return }
        slot.consumed += data.data.readableBytes + (data.paddingBytes.map { $0 + 1 } ?? 0)
    }

    /// Reopens the stream's window once half of it has been consumed, after a read (when the
    /// read's frames have shown whether the peer ended its side: the codec refuses a window
    /// update on a stream the peer has ended). True when an update was written.
    private func reopenWindow(_ slot: HTTP2StreamSlot) -> Bool {
        guard slot.consumed >= streamWindow / 2, !slot.remoteEnded, !slot.isClosed, let id = slot.id, let context else { return false }
        let increment = slot.consumed
        slot.consumed = 0
        context.write(NIOAny(HTTP2Frame(streamID: id, payload: .windowUpdate(windowSizeIncrement: increment))), promise: nil)
        return true
    }

    /// Delivers the frames a stream held while paused, and the close that waited for them.
    func resume(_ slot: HTTP2StreamSlot) {
        guard !slot.held.isEmpty || slot.closeHeld else { return }
        while !slot.readsPaused, !slot.held.isEmpty {
            let payload = slot.held.removeFirst()
            consume(payload, on: slot)
            slot.events?.streamRead(payload)
        }
        _ = reopenWindow(slot)
        context?.flush()
        if slot.held.isEmpty, slot.closeHeld {
            slot.closeHeld = false
            finishClose(slot, reset: nil)
        } else {
            slot.events?.streamReadComplete()
        }
    }

    /// The connection's read is over: each stream that read frames is told.
    func readComplete() {
        var reopened = false
        for slot in touched where reopenWindow(slot) { reopened = true }
        if reopened { context?.flush() }
        var index = 0
        while index < touched.count {
            let slot = touched[index]
            slot.touched = false
            slot.events?.streamReadComplete()
            index += 1
        }
        touched.removeAll(keepingCapacity: true)
    }

    /// The codec's user events: stream closes, and the connection's inbound window (reopened
    /// to its target once half of it is spent, as NIO's multiplexer does).
    func userEvent(_ event: Any) {
        if let closed = event as? StreamClosedEvent {
            guard let slot = streams.removeValue(forKey: closed.streamID) else { return }
            slot.isClosed = true
            if closed.reason == nil, !slot.held.isEmpty {
                slot.closeHeld = true
            } else {
                finishClose(slot, reset: closed.reason)
            }
        } else if let window = event as? NIOHTTP2WindowUpdatedEvent, window.streamID == .rootStream,
                  let inbound = window.inboundWindowSize, inbound <= connectionWindow / 2, isOpen, let context {
            let increment = connectionWindow - inbound
            context.write(NIOAny(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: increment))), promise: nil)
            context.flush()
        }
    }

    private func finishClose(_ slot: HTTP2StreamSlot, reset: HTTP2ErrorCode?) {
        slot.isClosed = true
        slot.held = []
        guard let events = slot.events else { return }
        slot.events = nil
        events.streamClosed(reset: reset)
    }

    func writabilityChanged(_ writable: Bool) {
        guard writable != connectionWritable else { return }
        connectionWritable = writable
        for slot in streams.values where slot.belowWatermark {
            slot.events?.streamWritabilityChanged(writable)
        }
    }

    /// Takes an error the codec reported: true when it is a stream's (the codec has reset that
    /// stream, which keeps the error for its owner), false when it is the connection's.
    func streamError(_ error: any Error) -> Bool {
        if error is NIOHTTP2Errors.StreamError {
            // A frame this side wrote was refused for its stream's state (a race with the
            // peer's reset, say): the frame is dropped; the stream's close follows from the codec.
            return true
        }
        guard let slot = codecReset, !sentConnectionError else { return false }
        codecReset = nil
        slot.codecError = error
        return true
    }

    /// The connection is gone: every open stream is closed.
    func connectionClosed() {
        guard isOpen else { return }
        isOpen = false
        context = nil
        let open = streams.values
        streams = [:]
        touched = []
        for slot in open { finishClose(slot, reset: nil) }
    }

    private func announceDrained() {
        let slots = drained
        drained = []
        for slot in slots where slot.belowWatermark && connectionWritable {
            slot.events?.streamWritabilityChanged(true)
        }
    }

    // MARK: NIOHTTP2FrameDelegate

    /// A frame left the codec for the socket: a stream's DATA no longer counts in its backlog.
    /// Called while the codec encodes the frame: nothing here may write.
    func wroteFrame(_ frame: HTTP2Frame) {
        switch frame.payload {
        case .data(let data):
            guard let slot = streams[frame.streamID] else { return }
            slot.queued -= data.data.readableBytes
            if !slot.belowWatermark, slot.queued <= lowWatermark {
                slot.belowWatermark = true
                if drained.isEmpty {
                    eventLoop.execute { [self] in announceDrained() }
                }
                drained.append(slot)
            }
        case .rstStream:
            // A reset this side did not ask for: the codec's answer to a stream error.
            if let slot = streams[frame.streamID], !slot.resetSent { codecReset = slot }
        case .goAway(_, let code, _) where code != .noError:
            sentConnectionError = true
        default:
            break
        }
    }
}

/// A connection handler that drives its streams through an `HTTP2StreamTable`: the end of a
/// read and changes of the socket's writability go to the table's streams.
protocol HTTP2StreamTableOwner: ChannelInboundHandler {
    var table: HTTP2StreamTable? { get }
}

extension HTTP2StreamTableOwner {
    func channelReadComplete(context: ChannelHandlerContext) {
        table?.readComplete()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        table?.writabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }
}
