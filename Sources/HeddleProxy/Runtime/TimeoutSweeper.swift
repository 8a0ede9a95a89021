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
