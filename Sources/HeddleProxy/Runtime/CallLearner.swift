import HeddleCore
import HeddlePolicy
import NIOConcurrencyHelpers

/// On-demand discovery's proxy half: a request for a host the proxy has no route for asks
/// here whether the control plane should be asked for it. Each name is asked for once; the
/// sidecar reads the names to ask for (`next()`), asks the control plane, and reports back
/// (`answered`): a known name's configuration arrives as a push (installing it wakes the
/// waiting requests, which find their route), an unknown one is remembered as such for
/// `unknownFor`, so that a stream of requests for a name the mesh does not have does not
/// become a stream of control-plane requests.
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

    private struct State {
        /// Names asked for and not yet answered, or answered known and not yet pushed.
        var pending: [String: UInt64] = [:]
        /// Names learned: the control plane has put them in this proxy's watch.
        var learned: Set<String> = []
        /// Names the control plane does not know, with when that was said.
        var unknown: [String: UInt64] = [:]
        /// Names the control plane could not be asked for, and why (until asked again).
        var unreachable: [String: String] = [:]
        /// Names to ask for, in order, and the reader waiting for one.
        var queue: [String] = []
        var reader: CheckedContinuation<[String]?, Never>?
        var finished = false
    }

    private let state = NIOLockedValueBox(State())
    /// The most names learned in all (the control plane refuses more in one watch).
    public let limit: Int
    /// How long an unknown name is answered as such without asking again.
    public let unknownForNanos: UInt64
    /// Called when names turn out unknown, to wake the requests waiting for them.
    private let wake = NIOLockedValueBox<(@Sendable () -> Void)?>(nil)

    public init(declared: [String] = [], limit: Int = 1000, unknownFor: Duration = .seconds(5)) {
        self.limit = limit
        unknownForNanos = unknownFor.nanosecondsUInt64
        state.withLockedValue { $0.learned = Set(declared) }
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
        let (answer, reader) = state.withLockedValue { state -> (Answer, CheckedContinuation<[String]?, Never>?) in
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
                state.queue.append(name)
                return (.wait, nil)
            }
            state.reader = nil
            return (.wait, reader)
        }
        reader?.resume(returning: [name])
        return answer
    }

    /// Whether a request waiting for `host` should go on waiting (for the control plane's
    /// answer, or for the push of a name it knows): false once the name is known to be
    /// unknown, or asking failed.
    public func shouldWait(host: some StringProtocol) -> Bool {
        guard let name = Self.serviceName(forHost: host) else { return false }
        return state.withLockedValue { $0.pending[name] != nil || $0.learned.contains(name) }
    }

    /// The names to ask the control plane for next (every one queued); nil once finished.
    /// Cancelling the reading task finishes the learner (the sidecar is stopping).
    public func next() async -> [String]? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready = state.withLockedValue { state -> [String]?? in
                    if !state.queue.isEmpty {
                        defer { state.queue = [] }
                        return .some(state.queue)
                    }
                    if state.finished || Task.isCancelled { return .some(nil) }
                    state.reader = continuation
                    return .none
                }
                if case .some(let names) = ready { continuation.resume(returning: names) }
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

    /// Ends `next()`.
    public func finish() {
        let reader = state.withLockedValue { state -> CheckedContinuation<[String]?, Never>? in
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
