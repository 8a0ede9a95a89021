import HeddleCore
import HeddlePolicy
import NIOConcurrencyHelpers

/// On-demand discovery's proxy half: a request for a host the proxy has no route for asks
/// here whether the control plane should be asked for it. Each name is asked for once; the
/// sidecar reads what to ask for (`next()`), asks the control plane, and reports back
/// (`answered`): a known name's configuration arrives as a push (installing it wakes the
/// waiting requests, which find their route), an unknown one is remembered as such for
/// `unknownFor`, so that a stream of requests for a name the mesh does not have does not
/// become a stream of control-plane requests.
///
/// A learned name no request has used for `forgetAfter` is forgotten (`sweep`): it leaves the
/// learned names at once (a request for it from then on learns it again) and `next()` hands it
/// out to be taken out of the watch, in order with the names to ask for, so that a name
/// forgotten and asked for again reaches the control plane in that order. Declared names
/// (`--calls`) are never forgotten.
///
/// Shared by every event loop; a lock guards a few small tables, taken only by requests for
/// hosts the proxy does not know (never on the hot path of a routed request).
public final class CallLearner: Sendable {
    /// What a request for an unrouted host does.
    public enum Answer: Equatable, Sendable {
        /// Wait for the push: the control plane is being (or was just) asked.
        case wait
        /// The control plane has no service or route of that name (asked lately).
        case unknown
        /// Not a name a proxy learns (not a valid service name, or the proxy learned its
        /// limit): answer no-route at once.
        case notLearnable
    }

    /// What the sidecar does next for on-demand discovery.
    public enum Work: Equatable, Sendable {
        /// Ask the control plane for these names (requests wait for them).
        case ask([String])
        /// Take these names out of the watch: no request used them for `forgetAfter`.
        case forget([String])
    }

    private struct State {
        /// Names asked for and not yet answered, or answered known and not yet pushed.
        var pending: [String: UInt64] = [:]
        /// Names learned: the control plane has put them in this proxy's watch.
        var learned: Set<String> = []
        /// Names given with `--calls`: never forgotten.
        var declared: Set<String> = []
        /// When a request last used each learned name, as far as `sweep` has seen.
        var lastUsed: [String: UInt64] = [:]
        /// Names the control plane does not know, with when that was said.
        var unknown: [String: UInt64] = [:]
        /// Names the control plane could not be asked for, and why (until asked again).
        var unreachable: [String: String] = [:]
        /// Work to hand out, in order, and the reader waiting for some.
        var queue: [Work] = []
        var reader: CheckedContinuation<Work?, Never>?
        var finished = false

        /// Queues `work`, joining it to the last item when both ask or both forget.
        mutating func enqueue(_ work: Work) {
            switch (queue.last, work) {
            case let (.ask(names)?, .ask(more)): queue[queue.count - 1] = .ask(names + more)
            case let (.forget(names)?, .forget(more)): queue[queue.count - 1] = .forget(names + more)
            default: queue.append(work)
            }
        }
    }

    private let state = NIOLockedValueBox(State())
    /// The most names learned in all (the control plane refuses more in one watch).
    public let limit: Int
    /// How long an unknown name is answered as such without asking again.
    public let unknownForNanos: UInt64
    /// How long a learned name may go unused before it is forgotten; nil: never.
    public let forgetAfterNanos: UInt64?
    /// Called when names turn out unknown, to wake the requests waiting for them.
    private let wake = NIOLockedValueBox<(@Sendable () -> Void)?>(nil)

    public init(declared: [String] = [], limit: Int = 1000, unknownFor: Duration = .seconds(5), forgetAfter: Duration? = nil) {
        self.limit = limit
        unknownForNanos = unknownFor.nanosecondsUInt64
        forgetAfterNanos = forgetAfter?.nanosecondsUInt64
        state.withLockedValue {
            $0.learned = Set(declared)
            $0.declared = Set(declared)
        }
    }

    /// The name a host header asks for: lowercased, without a port; nil for a host that is not
    /// a service name (an IP address, a name with dots).
    public static func serviceName(forHost host: some StringProtocol) -> String? {
        var name = host.lowercased()
        if let colon = name.lastIndex(of: ":"), !name.contains("]") { name = String(name[..<colon]) }
        return ResourceMetadata.isValidName(name) ? name : nil
    }

    /// A request for `host`, which the proxy has no route for, at `now` (uptime nanoseconds).
    public func ask(host: some StringProtocol, now: UInt64) -> Answer {
        guard let name = Self.serviceName(forHost: host) else { return .notLearnable }
        let (answer, reader) = state.withLockedValue { state -> (Answer, CheckedContinuation<Work?, Never>?) in
            if let since = state.unknown[name] {
                if now &- since < unknownForNanos { return (.unknown, nil) }
                state.unknown[name] = nil
            }
            // Learned, and still no route: the push is on its way, or the route went since.
            if state.pending[name] != nil || state.learned.contains(name) { return (.wait, nil) }
            guard !state.finished, state.learned.count + state.pending.count < limit else { return (.notLearnable, nil) }
            state.pending[name] = now
            state.unreachable[name] = nil
            guard let reader = state.reader else {
                state.enqueue(.ask([name]))
                return (.wait, nil)
            }
            state.reader = nil
            return (.wait, reader)
        }
        reader?.resume(returning: .ask([name]))
        return answer
    }

    /// Whether a request waiting for `host` should go on waiting (for the control plane's
    /// answer, or for the push of a name it knows): false once the name is known to be
    /// unknown, or asking failed.
    public func shouldWait(host: some StringProtocol) -> Bool {
        guard let name = Self.serviceName(forHost: host) else { return false }
        return state.withLockedValue { $0.pending[name] != nil || $0.learned.contains(name) }
    }

    /// What to do next: the names to ask the control plane for, or to take out of the watch,
    /// oldest first; nil once finished. Cancelling the reading task finishes the learner (the
    /// sidecar is stopping).
    public func next() async -> Work? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready = state.withLockedValue { state -> Work?? in
                    if !state.queue.isEmpty {
                        return .some(state.queue.removeFirst())
                    }
                    if state.finished || Task.isCancelled { return .some(nil) }
                    state.reader = continuation
                    return .none
                }
                if case .some(let work) = ready { continuation.resume(returning: work) }
            }
        } onCancel: {
            finish()
        }
    }

    /// The control plane's answer: `known` are in the watch now (their push follows), `unknown`
    /// are not in the mesh. Waiting requests look again.
    public func answered(known: [String], unknown: [String], now: UInt64) {
        state.withLockedValue { state in
            for name in known {
                state.pending[name] = nil
                state.learned.insert(name)
                state.lastUsed[name] = now
            }
            for name in unknown {
                state.pending[name] = nil
                state.unknown[name] = now
            }
        }
        wake.withLockedValue { $0 }?()
    }

    /// The control plane could not be asked (`reason`): the requests waiting for the names
    /// fail, and the next request for one asks again.
    public func failed(_ names: [String], reason: String) {
        state.withLockedValue { state in
            for name in names {
                state.pending[name] = nil
                state.unreachable[name] = reason
            }
        }
        wake.withLockedValue { $0 }?()
    }

    /// Names learned before (kept on disk by the last run): in the watch from the start.
    public func adopt(_ names: [String]) {
        state.withLockedValue { state in
            for name in names.prefix(max(0, limit - state.learned.count)) where ResourceMetadata.isValidName(name) {
                state.learned.insert(name)
            }
        }
    }

    /// Why a request for `host` gets no route after waiting.
    func whyNot(host: some StringProtocol) -> String {
        let name = Self.serviceName(forHost: host) ?? String(host)
        if let reason = state.withLockedValue({ $0.unreachable[name] }) {
            return "the control plane could not be asked for it (\(reason))"
        }
        return "the control plane has no service or route named '\(name)'"
    }

    /// Every name the proxy's watch should carry: declared and learned.
    public var calls: [String] {
        state.withLockedValue { $0.learned.sorted() }
    }

    /// The learned names `sweep` judges: learned, not declared.
    public var forgettable: [String] {
        state.withLockedValue { state in state.learned.subtracting(state.declared).sorted() }
    }

    /// Forgets the learned names no request used for `forgetAfter`, at `now` (uptime
    /// nanoseconds); `used`: the names requests used since the last sweep. A name is first
    /// judged from the first sweep that sees it (a name adopted at start has its full time).
    /// Returns the names forgotten, queued for `next()`.
    @discardableResult
    public func sweep(used: Set<String>, now: UInt64) -> [String] {
        guard let forgetAfterNanos else { return [] }
        let (forgotten, reader) = state.withLockedValue { state -> ([String], CheckedContinuation<Work?, Never>?) in
            var forgotten: [String] = []
            for name in state.learned.subtracting(state.declared).sorted() {
                if used.contains(name) || state.lastUsed[name] == nil {
                    state.lastUsed[name] = now
                } else if let last = state.lastUsed[name], now &- last >= forgetAfterNanos {
                    forgotten.append(name)
                    state.learned.remove(name)
                    state.lastUsed[name] = nil
                }
            }
            guard !forgotten.isEmpty, !state.finished else { return ([], nil) }
            guard let reader = state.reader else {
                state.enqueue(.forget(forgotten))
                return (forgotten, nil)
            }
            state.reader = nil
            return (forgotten, reader)
        }
        reader?.resume(returning: .forget(forgotten))
        return forgotten
    }

    /// Ends `next()`.
    public func finish() {
        let reader = state.withLockedValue { state -> CheckedContinuation<Work?, Never>? in
            state.finished = true
            defer { state.reader = nil }
            return state.reader
        }
        reader?.resume(returning: nil)
    }

    /// What wakes the waiting requests (set by the proxy server).
    func onWake(_ body: @escaping @Sendable () -> Void) {
        wake.withLockedValue { $0 = body }
    }
}

/// Where a request for a host without a route stands with on-demand discovery.
enum DiscoveryWait {
    /// Parked: it routes again when woken.
    case waiting
    /// It will not get a route: the no-route failure, saying why.
    case failed(ProxyFailure)
}
