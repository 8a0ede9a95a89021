import HeddleAPI
import Synchronization

/// One watcher's buffer: holds at most the latest push not yet taken (a newer push replaces
/// it), so a slow reader costs one push of memory and never holds up the writer or the other
/// watchers. One reader at a time.
final class WatchMailbox: Sendable {
    private struct State {
        var pending: ConfigPush?
        var keepAliveDue = false
        var finished = false
        var reader: CheckedContinuation<WatchEvent?, Never>?
    }

    private let state = Mutex(State())
    /// Called once, when the mailbox finishes (by its reader, its owner or a shutdown).
    private let onFinish: @Sendable () -> Void

    init(onFinish: @escaping @Sendable () -> Void) {
        self.onFinish = onFinish
    }

    /// Hands `push` to the reader, or keeps it in place of any push not yet taken.
    func offer(_ push: ConfigPush) {
        let reader = state.withLock { state -> CheckedContinuation<WatchEvent?, Never>? in
            guard !state.finished else { return nil }
            state.keepAliveDue = false
            guard let reader = state.reader else {
                state.pending = push
                return nil
            }
            state.reader = nil
            return reader
        }
        reader?.resume(returning: .push(push))
    }

    /// Asks for a keep-alive, unless a push is already waiting (which proves as much).
    func keepAlive() {
        let reader = state.withLock { state -> CheckedContinuation<WatchEvent?, Never>? in
            guard !state.finished, state.pending == nil else { return nil }
            guard let reader = state.reader else {
                state.keepAliveDue = true
                return nil
            }
            state.reader = nil
            return reader
        }
        reader?.resume(returning: .keepAlive)
    }

    /// Ends the stream: the reader gets the push still waiting, if any, then nil.
    func finish() {
        let (first, reader) = state.withLock { state -> (Bool, CheckedContinuation<WatchEvent?, Never>?) in
            guard !state.finished else { return (false, nil) }
            state.finished = true
            state.keepAliveDue = false
            defer { state.reader = nil }
            return (true, state.reader)
        }
        reader?.resume(returning: nil)
        if first { onFinish() }
    }

    /// The next event; nil once finished and read out. Cancelling the reading task finishes the
    /// mailbox.
    func next() async -> WatchEvent? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<WatchEvent?, Never>) in
                let ready = state.withLock { state -> WatchEvent?? in
                    if let push = state.pending {
                        state.pending = nil
                        return .some(.push(push))
                    }
                    if state.keepAliveDue {
                        state.keepAliveDue = false
                        return .some(.keepAlive)
                    }
                    if state.finished || Task.isCancelled { return .some(nil) }
                    precondition(state.reader == nil, "a watch mailbox has one reader at a time")
                    state.reader = continuation
                    return .none
                }
                if case .some(let event) = ready { continuation.resume(returning: event) }
            }
        } onCancel: {
            finish()
        }
    }
}
