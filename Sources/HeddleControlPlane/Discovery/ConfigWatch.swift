import HeddleAPI

/// A proxy's watch: the current snapshot first, then a new one after every change that alters
/// what the proxy receives, coalesced. A reader that falls behind gets only the latest push.
/// The watch ends when the control plane shuts down, when it is cancelled, when the reading
/// task is cancelled, or when the last copy of it is dropped.
public struct ConfigWatch: AsyncSequence, Sendable {
    public typealias Element = ConfigPush

    /// Owns the mailbox: the watch ends when the last copy of the watch and its iterators goes.
    fileprivate final class Handle: Sendable {
        let mailbox: WatchMailbox

        init(_ mailbox: WatchMailbox) {
            self.mailbox = mailbox
        }

        deinit {
            mailbox.finish()
        }
    }

    private let handle: Handle
    /// What the proxy held when it opened the watch, if it said.
    let resume: WatchResume?

    init(_ mailbox: WatchMailbox, resume: WatchResume? = nil) {
        self.handle = Handle(mailbox)
        self.resume = resume
    }

    /// Ends the watch.
    public func cancel() {
        handle.mailbox.finish()
    }

    /// Pushes and keep-alives, for a transport that writes both.
    var events: Events { Events(handle: handle) }

    public func makeAsyncIterator() -> Iterator {
        Iterator(handle: handle)
    }

    /// Reads the pushes, skipping keep-alives.
    public struct Iterator: AsyncIteratorProtocol {
        fileprivate let handle: Handle

        public mutating func next() async -> ConfigPush? {
            while let event = await handle.mailbox.next() {
                if case .push(let push) = event { return push }
            }
            return nil
        }
    }

    /// Every event of the watch.
    struct Events: AsyncSequence, Sendable {
        fileprivate let handle: Handle

        func makeAsyncIterator() -> Iterator {
            Iterator(handle: handle)
        }

        struct Iterator: AsyncIteratorProtocol {
            fileprivate let handle: Handle

            mutating func next() async -> WatchEvent? {
                await handle.mailbox.next()
            }
        }
    }
}
