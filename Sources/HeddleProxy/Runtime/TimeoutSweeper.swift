import NIOCore

/// Something with a deadline that the sweeper checks: a connection waiting for a request head,
/// a request waiting for its response.
protocol DeadlineHolder: AnyObject {
    /// Uptime nanoseconds after which `deadlinePassed` is called; `.max` for none.
    var deadline: UInt64 { get }
    /// Position in the sweeper's list, kept by the sweeper.
    var sweepSlot: Int { get set }
    func deadlinePassed(now: UInt64)
    /// The proxy is shutting down: close when no request is in progress.
    func drain()
}

/// A holder whose short deadlines the sweeper times precisely: it keeps when its timer fires.
protocol PreciseDeadlineHolder: DeadlineHolder {
    /// When the holder's precise timer fires; `.max` when none is scheduled.
    var preciseTimerAt: UInt64 { get set }
}

/// One coarse timer per event loop for every connection on it: a connection sets a deadline by
/// writing a number, with no timer scheduled or cancelled per request. Deadlines fire within
/// one tick (250 ms) after they pass, which suits timeouts measured in seconds. Used only on its
/// event loop (`Sendable` only so its repeated task, which runs on that loop, may refer to it).
final class TimeoutSweeper: @unchecked Sendable {
    static let tick: TimeAmount = .milliseconds(250)
    private var holders: [any DeadlineHolder] = []
    private var task: RepeatedTask?
    private let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func start() {
        task = eventLoop.scheduleRepeatedTask(initialDelay: Self.tick, delay: Self.tick) { [weak self] _ in
            self?.sweep(now: NIODeadline.now().uptimeNanoseconds)
        }
    }

    func stop() {
        task?.cancel()
        task = nil
    }

    func add(_ holder: any DeadlineHolder) {
        holder.sweepSlot = holders.count
        holders.append(holder)
    }

    func remove(_ holder: any DeadlineHolder) {
        let slot = holder.sweepSlot
        guard slot >= 0, slot < holders.count, holders[slot] === holder else { return }
        let last = holders.removeLast()
        if slot < holders.count {
            holders[slot] = last
            last.sweepSlot = slot
        }
        holder.sweepSlot = -1
    }

    var count: Int { holders.count }

    func forEach(_ body: (any DeadlineHolder) -> Void) {
        for holder in holders { body(holder) }
    }

    /// The time of the last tick (uptime nanoseconds): a clock for deadlines that need no more
    /// precision than the sweep itself, read without a system call.
    private(set) var coarseNow: UInt64 = NIODeadline.now().uptimeNanoseconds

    /// Deadlines closer than this get a timer of their own (`armPrecisely`).
    static let preciseWindowNanos: UInt64 = 2_000_000_000

    /// Gives `holder`'s deadline a timer of its own when it is closer than two seconds: the
    /// sweep fires within a tick (250 ms) of a deadline, enough for timeouts in seconds, not for
    /// a caller's 300 ms. One timer per holder at a time (the earliest); when it fires early
    /// (the deadline moved), it arms again. Allocates only for short deadlines.
    func armPrecisely(_ holder: any PreciseDeadlineHolder, now: UInt64) {
        let at = holder.deadline
        guard at != .max, at &- now < Self.preciseWindowNanos, at < holder.preciseTimerAt else { return }
        holder.preciseTimerAt = at
        let bound = NIOLoopBound(holder, eventLoop: eventLoop)
        eventLoop.scheduleTask(in: .nanoseconds(Int64(clamping: at &- now))) { [self] in
            let holder = bound.value
            if holder.preciseTimerAt == at { holder.preciseTimerAt = .max }
            let fired = NIODeadline.now().uptimeNanoseconds
            if holder.deadline <= fired {
                holder.deadlinePassed(now: fired)
            } else {
                armPrecisely(holder, now: fired)
            }
        }
    }

    func sweep(now: UInt64) {
        coarseNow = now
        var expired: [any DeadlineHolder] = []
        for holder in holders where holder.deadline <= now {
            expired.append(holder)
        }
        // A holder removed by an earlier one's deadline (its slot is -1) does not fire.
        for holder in expired where holder.sweepSlot >= 0 {
            holder.deadlinePassed(now: now)
        }
    }
}
