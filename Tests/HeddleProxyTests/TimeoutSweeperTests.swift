import NIOCore
import NIOEmbedded
import Testing

@testable import HeddleProxy

/// `TimeoutSweeper`: one list of deadline holders per loop, with swap-remove slots.
@Suite("TimeoutSweeper")
struct TimeoutSweeperTests {
    /// A holder that records when its deadline fired, and can run code then.
    final class FakeHolder: DeadlineHolder {
        let name: String
        var deadline: UInt64
        var sweepSlot = -1
        var fired: [UInt64] = []
        var drained = 0
        var onDeadline: ((FakeHolder) -> Void)?

        init(_ name: String, deadline: UInt64 = .max) {
            self.name = name
            self.deadline = deadline
        }

        func deadlinePassed(now: UInt64) {
            fired.append(now)
            onDeadline?(self)
        }

        func drain() {
            drained += 1
        }
    }

    let loop = EmbeddedEventLoop()

    /// The holders in the sweeper's order, each with the slot it believes it has.
    func listing(_ sweeper: TimeoutSweeper) -> [(name: String, slot: Int)] {
        var result: [(String, Int)] = []
        sweeper.forEach { holder in
            let fake = holder as! FakeHolder
            result.append((fake.name, fake.sweepSlot))
        }
        return result
    }

    /// Every holder's slot is its index in the sweeper's list.
    func expectSlotsConsistent(_ sweeper: TimeoutSweeper, sourceLocation: SourceLocation = #_sourceLocation) {
        for (index, entry) in listing(sweeper).enumerated() {
            #expect(entry.slot == index, "\(entry.name) has slot \(entry.slot) at index \(index)", sourceLocation: sourceLocation)
        }
    }

    @Test("Adding gives each holder the next slot")
    func addAssignsSlots() {
        let sweeper = TimeoutSweeper(eventLoop: loop)
        let holders = (0..<4).map { FakeHolder("h\($0)") }
        holders.forEach { sweeper.add($0) }
        #expect(sweeper.count == 4)
        #expect(holders.map(\.sweepSlot) == [0, 1, 2, 3])
        expectSlotsConsistent(sweeper)
    }

    @Test("Removing swaps the last holder into the freed slot and keeps every slot consistent")
    func swapRemove() {
        let sweeper = TimeoutSweeper(eventLoop: loop)
        let holders = (0..<6).map { FakeHolder("h\($0)", deadline: 100) }
        holders.forEach { sweeper.add($0) }

        sweeper.remove(holders[1])
        #expect(listing(sweeper).map(\.name) == ["h0", "h5", "h2", "h3", "h4"])
        #expect(holders[1].sweepSlot == -1)
        expectSlotsConsistent(sweeper)

        sweeper.remove(holders[4])  // the last one: nothing moves
        #expect(listing(sweeper).map(\.name) == ["h0", "h5", "h2", "h3"])
        expectSlotsConsistent(sweeper)

        sweeper.remove(holders[0])
        #expect(listing(sweeper).map(\.name) == ["h3", "h5", "h2"])
        expectSlotsConsistent(sweeper)

        // Sweeping fires exactly the holders still present.
        sweeper.sweep(now: 100)
        #expect(holders.filter { !$0.fired.isEmpty }.map(\.name) == ["h2", "h3", "h5"])

        // Slots that were moved still work for removal: the sweeper empties completely.
        for holder in [holders[5], holders[2], holders[3]] {
            sweeper.remove(holder)
            expectSlotsConsistent(sweeper)
        }
        #expect(sweeper.count == 0)
        sweeper.sweep(now: 200)
        #expect(holders.map(\.fired.count) == [0, 0, 1, 1, 0, 1])
    }

    @Test("Removing in every order leaves the remaining slots consistent")
    func removeInManyOrders() {
        // Every rotation of the five positions and its reversal: removals hit the first, a
        // middle and the last slot, so the last holder is moved into each of them.
        let orders: [[Int]] = (0..<5).flatMap { shift -> [[Int]] in
            let rotated = Array((0..<5).map { ($0 + shift) % 5 })
            return [rotated, rotated.reversed()]
        }
        for order in orders {
            let sweeper = TimeoutSweeper(eventLoop: loop)
            let holders = (0..<5).map { FakeHolder("h\($0)", deadline: 0) }
            holders.forEach { sweeper.add($0) }
            var remaining = Set(0..<5)
            for index in order {
                sweeper.remove(holders[index])
                remaining.remove(index)
                expectSlotsConsistent(sweeper)
                #expect(Set(listing(sweeper).map(\.name)) == Set(remaining.map { "h\($0)" }), "order \(order)")
            }
            #expect(sweeper.count == 0)
        }
    }

    @Test("A sweep fires exactly the holders whose deadline has passed, deadline equal to now included")
    func sweepFiresExpired() {
        let sweeper = TimeoutSweeper(eventLoop: loop)
        let early = FakeHolder("early", deadline: 10)
        let exact = FakeHolder("exact", deadline: 50)
        let late = FakeHolder("late", deadline: 51)
        let none = FakeHolder("none")
        [early, exact, late, none].forEach { sweeper.add($0) }

        sweeper.sweep(now: 50)
        #expect(early.fired == [50])
        #expect(exact.fired == [50])
        #expect(late.fired.isEmpty)
        #expect(none.fired.isEmpty)

        // A holder stays in the list until removed: it fires again on the next sweep unless it
        // moved its deadline.
        early.deadline = .max
        sweeper.sweep(now: 60)
        #expect(early.fired == [50])
        #expect(exact.fired == [50, 60])
        #expect(late.fired == [60])
        #expect(none.fired.isEmpty)
    }

    @Test("A holder may remove itself during its own deadlinePassed")
    func removeSelfDuringSweep() {
        let sweeper = TimeoutSweeper(eventLoop: loop)
        let holders = (0..<5).map { FakeHolder("h\($0)", deadline: 10) }
        holders.forEach { sweeper.add($0) }
        // h0 and h2 close on their deadline, as a connection does.
        for index in [0, 2] {
            holders[index].onDeadline = { sweeper.remove($0) }
        }
        sweeper.sweep(now: 10)
        #expect(holders.map(\.fired.count) == [1, 1, 1, 1, 1], "every expired holder fired once")
        #expect(sweeper.count == 3)
        #expect(Set(listing(sweeper).map(\.name)) == ["h1", "h3", "h4"])
        expectSlotsConsistent(sweeper)
        #expect(holders[0].sweepSlot == -1)
        #expect(holders[2].sweepSlot == -1)

        sweeper.sweep(now: 20)
        #expect(holders.map(\.fired.count) == [1, 2, 1, 2, 2])
    }

    @Test("Removing twice, or removing a holder never added, changes nothing")
    func removeTwice() {
        let sweeper = TimeoutSweeper(eventLoop: loop)
        let a = FakeHolder("a", deadline: 0)
        let b = FakeHolder("b", deadline: 0)
        let c = FakeHolder("c", deadline: 0)
        [a, b, c].forEach { sweeper.add($0) }
        sweeper.remove(a)
        sweeper.remove(a)
        #expect(sweeper.count == 2)
        #expect(listing(sweeper).map(\.name) == ["c", "b"])
        expectSlotsConsistent(sweeper)

        let stranger = FakeHolder("stranger")
        sweeper.remove(stranger)
        // A stale slot that points at another holder's position removes nothing.
        stranger.sweepSlot = 0
        sweeper.remove(stranger)
        #expect(sweeper.count == 2)
        #expect(listing(sweeper).map(\.name) == ["c", "b"])
        #expect(stranger.sweepSlot == 0)
    }

    @Test("forEach reaches every holder, as draining does")
    func forEachReachesAll() {
        let sweeper = TimeoutSweeper(eventLoop: loop)
        let holders = (0..<3).map { FakeHolder("h\($0)") }
        holders.forEach { sweeper.add($0) }
        sweeper.forEach { $0.drain() }
        #expect(holders.map(\.drained) == [1, 1, 1])
    }

    @Test("Once started, the sweeper sweeps every tick until stopped")
    func startAndStop() {
        let sweeper = TimeoutSweeper(eventLoop: loop)
        // Deadlines of 0 and .max are past and never past whatever clock the sweep reads.
        let expired = FakeHolder("expired", deadline: 0)
        let never = FakeHolder("never")
        [expired, never].forEach { sweeper.add($0) }
        sweeper.start()
        loop.advanceTime(by: TimeoutSweeper.tick - .nanoseconds(1))
        #expect(expired.fired.isEmpty)
        loop.advanceTime(by: .nanoseconds(1))
        #expect(expired.fired.count == 1)
        loop.advanceTime(by: TimeoutSweeper.tick * 2)
        #expect(expired.fired.count == 3)
        sweeper.stop()
        loop.advanceTime(by: TimeoutSweeper.tick * 4)
        #expect(expired.fired.count == 3)
        #expect(never.fired.isEmpty)
    }
}
