import NIOCore

/// A handler's own `ChannelHandlerContext`, held from `handlerAdded` to `handlerRemoved` (which
/// the pipeline's reference to the context spans) and used without reference counting.
///
/// For a handler that is never removed from its pipeline while it writes: NIO removes the
/// handlers of a closing channel only after the close call has returned, so a write made
/// during a close finds the context alive (and does nothing); a handler that can be removed
/// synchronously (`RemovableChannelHandler`) must not use it.
///
/// An `unowned(unsafe)` stored property is not enough: each load of it becomes a strong
/// reference for the call made through it, a `swift_retain` and a `swift_release` around every
/// write and flush (`benchmarks/refcounts.sh` counted them). `Unmanaged`'s guaranteed-reference
/// access makes none.
struct UnretainedContext {
    private var reference: Unmanaged<ChannelHandlerContext>?

    init() {}

    /// Takes the context in `handlerAdded`; `nil` in `handlerRemoved`.
    mutating func set(_ context: ChannelHandlerContext?) {
        reference = context.map { Unmanaged.passUnretained($0) }
    }

    /// The context, as a strong reference, for the calls off the hot path; nil once removed.
    var value: ChannelHandlerContext? { reference?.takeUnretainedValue() }

    @inline(__always)
    func write(_ data: NIOAny) {
        reference?._withUnsafeGuaranteedRef { $0.write(data, promise: nil) }
    }

    @inline(__always)
    func flush() {
        reference?._withUnsafeGuaranteedRef { $0.flush() }
    }

    @inline(__always)
    func writeAndFlush(_ data: NIOAny) {
        reference?._withUnsafeGuaranteedRef { $0.writeAndFlush(data, promise: nil) }
    }
}
