import HeddleCore
import Synchronization
import Testing

@testable import HeddleProxy

/// `CallLearner`: which hosts are asked for, once each; answers; unknown names remembered for
/// a while on an injected clock; the limit; names kept from an earlier run.
@Suite("CallLearner")
struct CallLearnerTests {
    static let second: UInt64 = 1_000_000_000

    @Test("A host header becomes a service name: lowercased, without a port; an IP or dotted name is not one")
    func serviceNames() {
        #expect(CallLearner.serviceName(forHost: "Users") == "users")
        #expect(CallLearner.serviceName(forHost: "users:8080") == "users")
        #expect(CallLearner.serviceName(forHost: "10.0.0.1") == nil)
        #expect(CallLearner.serviceName(forHost: "shop.example.com") == nil)
        #expect(CallLearner.serviceName(forHost: "[::1]:80") == nil)
        #expect(CallLearner.serviceName(forHost: "") == nil)
    }

    @Test("The first request for a name queues it once; later ones wait without asking again")
    func asksOncePerName() async {
        let learner = CallLearner()
        #expect(learner.ask(host: "users", now: 0) == .wait)
        #expect(learner.ask(host: "users:80", now: 1) == .wait)
        #expect(learner.ask(host: "orders", now: 2) == .wait)
        #expect(learner.ask(host: "10.1.1.1", now: 3) == .notLearnable)
        #expect(await learner.next() == .ask(["users", "orders"]))
        #expect(learner.shouldWait(host: "users"))
        learner.answered(known: ["users"], unknown: [], now: 4)
        // Known: in the watch's calls, and a request still waits (for the push).
        #expect(learner.calls == ["users"])
        #expect(learner.shouldWait(host: "users"))
        #expect(learner.ask(host: "users", now: 5) == .wait)
    }

    @Test("An unknown name fails at once for unknownFor, then is asked for again")
    func unknownNamesAreRememberedForAWhile() async {
        let learner = CallLearner(unknownFor: .seconds(5))
        let woken = Mutex(0)
        learner.onWake { woken.withLock { $0 += 1 } }
        #expect(learner.ask(host: "nosuch", now: 0) == .wait)
        #expect(await learner.next() == .ask(["nosuch"]))
        learner.answered(known: [], unknown: ["nosuch"], now: Self.second)
        #expect(woken.withLock { $0 } == 1, "the waiting requests look again")
        #expect(!learner.shouldWait(host: "nosuch"))
        #expect(learner.whyNot(host: "nosuch") == "the control plane has no service or route named 'nosuch'")
        #expect(learner.ask(host: "nosuch", now: 5 * Self.second) == .unknown)
        #expect(learner.ask(host: "nosuch", now: 6 * Self.second + 1) == .wait)
        #expect(await learner.next() == .ask(["nosuch"]))
        #expect(learner.calls.isEmpty)
    }

    @Test("When the control plane cannot be asked, waiting requests fail saying so, and the next one asks again")
    func unreachableControlPlane() async {
        let learner = CallLearner()
        #expect(learner.ask(host: "users", now: 0) == .wait)
        #expect(await learner.next() == .ask(["users"]))
        learner.failed(["users"], reason: "cannot reach any control plane")
        #expect(!learner.shouldWait(host: "users"))
        #expect(learner.whyNot(host: "users") == "the control plane could not be asked for it (cannot reach any control plane)")
        #expect(learner.ask(host: "users", now: 1) == .wait)
        #expect(await learner.next() == .ask(["users"]))
        #expect(learner.whyNot(host: "users") == "the control plane has no service or route named 'users'")
    }

    @Test("Declared and adopted names count toward the limit; past it a name is not learned")
    func limit() {
        let learner = CallLearner(declared: ["a"], limit: 3)
        learner.adopt(["b", "Not Valid"])
        #expect(learner.calls == ["a", "b"])
        #expect(learner.ask(host: "c", now: 0) == .wait)
        #expect(learner.ask(host: "d", now: 0) == .notLearnable)
        #expect(learner.ask(host: "a", now: 0) == .wait, "a declared name without a route waits for its push")
    }

    @Test("A learned name unused for forgetAfter is forgotten and handed out to leave the watch; a used or declared one stays")
    func forgetsWhatTheAppNoLongerCalls() async {
        let learner = CallLearner(declared: ["orders"], forgetAfter: .seconds(60))
        learner.adopt(["kept"])
        #expect(learner.ask(host: "users", now: 0) == .wait)
        #expect(await learner.next() == .ask(["users"]))
        learner.answered(known: ["users"], unknown: [], now: 0)
        #expect(learner.forgettable == ["kept", "users"], "declared names are never judged")

        // The first sweep starts the adopted name's clock; users was learned at 0.
        #expect(learner.sweep(used: [], now: 10 * Self.second).isEmpty)
        #expect(learner.sweep(used: ["users"], now: 50 * Self.second).isEmpty)
        // kept: unused since 10 s; users: used at 50 s.
        #expect(learner.sweep(used: [], now: 70 * Self.second) == ["kept"])
        #expect(await learner.next() == .forget(["kept"]))
        #expect(learner.calls == ["orders", "users"])
        #expect(learner.sweep(used: [], now: 109 * Self.second).isEmpty)
        #expect(learner.sweep(used: [], now: 110 * Self.second) == ["users"])
        #expect(learner.calls == ["orders"])
        #expect(learner.sweep(used: [], now: 10_000 * Self.second).isEmpty, "a declared name is never forgotten")

        // A request for a forgotten name learns it again, after the forgetting in the queue.
        #expect(learner.ask(host: "users", now: 111 * Self.second) == .wait)
        #expect(await learner.next() == .forget(["users"]))
        #expect(await learner.next() == .ask(["users"]))
    }

    @Test("Without forgetAfter nothing is forgotten")
    func neverForgets() {
        let learner = CallLearner()
        learner.adopt(["users"])
        #expect(learner.sweep(used: [], now: 0).isEmpty)
        #expect(learner.sweep(used: [], now: 1_000_000 * Self.second).isEmpty)
        #expect(learner.calls == ["users"])
    }

    @Test("Cancelling the reader ends next() (a stopping sidecar does not hang on it)")
    func cancellation() async {
        let learner = CallLearner()
        let reader = Task { await learner.next() }
        try? await Task.sleep(for: .milliseconds(20))
        reader.cancel()
        #expect(await reader.value == nil)
        #expect(learner.ask(host: "users", now: 0) == .notLearnable)
    }

    @Test("finish() ends next()")
    func finish() async {
        let learner = CallLearner()
        async let names = learner.next()
        try? await Task.sleep(for: .milliseconds(20))
        learner.finish()
        #expect(await names == nil)
        #expect(learner.ask(host: "users", now: 0) == .notLearnable)
    }
}
