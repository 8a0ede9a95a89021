import HeddleCore
@testable import HeddleControlPlane
import Testing

/// The lease state machine, by hand-driven time.
@Suite("InstanceLease")
struct InstanceLeaseTests {
    let start = Instant(nanoseconds: 5_000_000_000)

    @Test("Nothing before the lease runs out; expire at one lease; remove at two")
    func actions() {
        var lease = InstanceLease(duration: .seconds(10), renewedAt: start)
        #expect(lease.action(at: start.advanced(by: .milliseconds(9_999))) == .none)
        #expect(lease.action(at: start.advanced(by: .seconds(10))) == .expire)
        lease.markExpired()
        #expect(lease.action(at: start.advanced(by: .seconds(15))) == .none)
        #expect(lease.action(at: start.advanced(by: .seconds(20))) == .remove)
    }

    @Test("A sweep that comes late goes straight to removal")
    func lateSweep() {
        let lease = InstanceLease(duration: .seconds(10), renewedAt: start)
        #expect(lease.action(at: start.advanced(by: .seconds(25))) == .remove)
    }

    @Test("Renewing restarts both periods and clears the expiry")
    func renew() {
        var lease = InstanceLease(duration: .seconds(10), renewedAt: start, expired: true)
        lease.renew(at: start.advanced(by: .seconds(18)))
        #expect(!lease.expired)
        #expect(lease.action(at: start.advanced(by: .seconds(27))) == .none)
        #expect(lease.action(at: start.advanced(by: .seconds(28))) == .expire)
    }
}
