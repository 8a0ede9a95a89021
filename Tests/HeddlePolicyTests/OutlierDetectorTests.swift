import HeddleCore
import HeddlePolicy
import Testing

@Suite("OutlierDetector")
struct OutlierDetectorTests {
    @Test("The fifth failure in a row ejects the endpoint for 30 s, to the nanosecond")
    func consecutiveFailuresEject() {
        var detector = OutlierDetector(endpoints: endpoints(4))
        for _ in 0..<4 {
            #expect(detector.recordFailure(1, now: start) == false)
        }
        #expect(detector.recordFailure(1, now: start) == true)
        #expect(detector.ejectedCount == 1)
        #expect(detector.isEjected(1, now: start))
        #expect(detector.isEjected(1, now: start.advanced(by: .seconds(30) - .nanoseconds(1))))
        #expect(!detector.isEjected(1, now: start.advanced(by: .seconds(30))))
        #expect(detector.ejectedUntil(1) == start.advanced(by: .seconds(30)))
        for other in [0, 2, 3] {
            #expect(!detector.isEjected(other, now: start))
        }
    }

    @Test("A success ends the run of failures")
    func successResetsRun() {
        var detector = OutlierDetector(endpoints: endpoints(4))
        for _ in 0..<4 {
            detector.recordFailure(0, now: start)
        }
        detector.recordSuccess(0, now: start)
        for _ in 0..<4 {
            #expect(detector.recordFailure(0, now: start) == false)
        }
        #expect(detector.recordFailure(0, now: start) == true)
    }

    @Test("Each ejection lasts 30 s longer than the last, up to 300 s")
    func ejectionTimeGrows() throws {
        var detector = OutlierDetector(endpoints: endpoints(4))
        var now = start
        var lengths: [Duration] = []
        for _ in 0..<12 {
            for _ in 0..<5 {
                detector.recordFailure(2, now: now)
            }
            let until = try #require(detector.ejectedUntil(2))
            lengths.append(until.duration(since: now))
            now = until
        }
        #expect(lengths == [30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 300, 300].map { Duration.seconds($0) })
    }

    @Test("An endpoint back from ejection starts a new run of failures")
    func returnClearsRun() {
        var detector = OutlierDetector(endpoints: endpoints(4))
        for _ in 0..<5 {
            detector.recordFailure(0, now: start)
        }
        // Failures of requests that were in flight when it was ejected are ignored.
        for _ in 0..<20 {
            #expect(detector.recordFailure(0, now: start.advanced(by: .seconds(10))) == false)
        }
        let back = start.advanced(by: .seconds(30))
        for _ in 0..<4 {
            #expect(detector.recordFailure(0, now: back) == false)
        }
        #expect(!detector.isEjected(0, now: back))
        #expect(detector.recordFailure(0, now: back) == true)
        #expect(detector.ejectedUntil(0) == back.advanced(by: .seconds(60)))
    }

    @Test("A whole interval in service lowers the ejection count by one; the interval of the return does not")
    func ejectionCountDecays() throws {
        func secondEjectionLength(at second: Int) throws -> Duration {
            var detector = OutlierDetector(endpoints: endpoints(4))
            var events: [OutlierEvent] = []
            for tick in 0...second {
                let now = start.advanced(by: .seconds(tick))
                if tick == 1 {
                    for _ in 0..<5 {
                        detector.recordFailure(0, now: now)
                    }
                }
                events += detector.tick(now: now)
            }
            // Ejected at 1 s, back at 31 s; evaluations at 10, 20, 30, 40, 50 s.
            #expect(events.map(\.kind) == [.ejected(.consecutiveFailures, until: start.advanced(by: .seconds(31))), .returned])
            let now = start.advanced(by: .seconds(second))
            for _ in 0..<5 {
                detector.recordFailure(0, now: now)
            }
            return try #require(detector.ejectedUntil(0)).duration(since: now)
        }
        #expect(try secondEjectionLength(at: 45) == .seconds(60))
        #expect(try secondEjectionLength(at: 51) == .seconds(30))
    }

    @Test("An endpoint is ejected only while under half of the endpoints are: 2 of 4")
    func maxEjectionPercent() {
        var detector = OutlierDetector(endpoints: endpoints(4))
        eject(0, &detector, now: start)
        eject(1, &detector, now: start.advanced(by: .seconds(10)))
        #expect(detector.ejectedCount == 2)
        for _ in 0..<10 {
            #expect(detector.recordFailure(2, now: start.advanced(by: .seconds(20))) == false)
        }
        #expect(!detector.isEjected(2, now: start.advanced(by: .seconds(20))))
        // Endpoint 0's ejection ends at 30 s, which frees a place: the run goes on and ejects.
        let later = start.advanced(by: .seconds(30))
        #expect(detector.recordFailure(2, now: later) == true)
        #expect(detector.isEjected(2, now: later))
        #expect(!detector.isEjected(0, now: later))
        #expect(detector.ejectedCount == 2)
    }

    @Test("The share is checked before the ejection, as in Envoy",
          arguments: [(1, 50, 1), (2, 50, 1), (3, 50, 2), (5, 50, 3), (10, 10, 1), (10, 11, 2), (4, 0, 0), (4, 100, 4)])
    func shareCheckedBefore(count: Int, percent: Int, ejectable: Int) {
        var detector = OutlierDetector(endpoints: endpoints(count), configuration: .init(maxEjectionPercent: percent))
        for index in 0..<count {
            for _ in 0..<5 {
                detector.recordFailure(index, now: start)
            }
        }
        #expect(detector.ejectedCount == ejectable)
        #expect((0..<count).count { detector.isEjected($0, now: start) } == ejectable)
    }

    @Test("Every interval, an endpoint whose success rate is far below the others' is ejected")
    func successRateEjection() {
        var detector = OutlierDetector(endpoints: endpoints(6))
        #expect(detector.tick(now: start).isEmpty)
        let during = start.advanced(by: .seconds(5))
        for index in 0..<5 {
            record(&detector, index, successes: 198, failures: 2, now: during)
        }
        record(&detector, 5, successes: 100, failures: 100, now: during)
        #expect(detector.tick(now: start.advanced(by: .seconds(9))).isEmpty)
        let evaluation = start.advanced(by: .seconds(10))
        let events = detector.tick(now: evaluation)
        #expect(events == [
            OutlierEvent(key: "10.0.0.5:8080", kind: .ejected(.successRate, until: evaluation.advanced(by: .seconds(30))), at: evaluation),
        ])
        #expect(detector.isEjected(5, now: evaluation))
        #expect(detector.ejectedCount == 1)
    }

    @Test("Success rates are not compared below the request volume or with too few endpoints qualifying")
    func successRateNeedsVolume() {
        // The poor endpoint has 99 requests, one short of the volume.
        var lowVolume = OutlierDetector(endpoints: endpoints(6))
        _ = lowVolume.tick(now: start)
        for index in 0..<5 {
            record(&lowVolume, index, successes: 200, failures: 0, now: start)
        }
        record(&lowVolume, 5, successes: 49, failures: 50, now: start)
        #expect(lowVolume.tick(now: start.advanced(by: .seconds(10))).isEmpty)

        // Only two endpoints qualify, under the minimum of three.
        var fewHosts = OutlierDetector(endpoints: endpoints(6), configuration: .init(consecutiveFailures: 0))
        _ = fewHosts.tick(now: start)
        record(&fewHosts, 0, successes: 1_000, failures: 0, now: start)
        record(&fewHosts, 1, successes: 0, failures: 1_000, now: start)
        #expect(fewHosts.tick(now: start.advanced(by: .seconds(10))).isEmpty)

        // Counts start afresh each interval: 60 + 60 requests over two intervals never qualify.
        var split = OutlierDetector(endpoints: endpoints(6))
        _ = split.tick(now: start)
        for interval in 0..<2 {
            let now = start.advanced(by: .seconds(10 * interval + 5))
            for index in 0..<5 {
                record(&split, index, successes: 60, failures: 0, now: now)
            }
            record(&split, 5, successes: 30, failures: 30, now: now)
            #expect(split.tick(now: start.advanced(by: .seconds(10 * interval + 10))).isEmpty)
        }
    }

    @Test("Equal success rates eject nobody")
    func equalRates() {
        var detector = OutlierDetector(endpoints: endpoints(7))
        _ = detector.tick(now: start)
        for index in 0..<7 {
            record(&detector, index, successes: 194, failures: 6, now: start)
        }
        #expect(detector.tick(now: start.advanced(by: .seconds(10))).isEmpty)
        #expect(detector.ejectedCount == 0)
    }

    @Test("Success-rate ejections go worst first and stop at the cap")
    func successRateWorstFirst() {
        let configuration = OutlierDetector.Configuration(consecutiveFailures: 0, maxEjectionPercent: 20, successRateStdevFactor: 1)
        var detector = OutlierDetector(endpoints: endpoints(10), configuration: configuration)
        _ = detector.tick(now: start)
        let poor = [7: 30, 2: 10, 5: 20]
        for index in 0..<10 {
            let successes = poor[index] ?? 100
            record(&detector, index, successes: successes, failures: 100 - successes, now: start)
        }
        let events = detector.tick(now: start.advanced(by: .seconds(10)))
        #expect(events.map(\.key) == ["10.0.0.2:8080", "10.0.0.5:8080"])
        #expect(events.allSatisfy { if case .ejected(.successRate, _) = $0.kind { true } else { false } })
        #expect(!detector.isEjected(7, now: start.advanced(by: .seconds(10))))
    }

    @Test("Ticks hand over each ejection and return once, returns stamped with the ejection's end")
    func eventsReported() {
        var detector = OutlierDetector(endpoints: endpoints(3))
        _ = detector.tick(now: start)
        eject(1, &detector, now: start.advanced(by: .milliseconds(1_500)))
        let until = start.advanced(by: .milliseconds(31_500))
        #expect(detector.tick(now: start.advanced(by: .seconds(2))) == [
            OutlierEvent(key: "10.0.0.1:8080", kind: .ejected(.consecutiveFailures, until: until), at: start.advanced(by: .milliseconds(1_500))),
        ])
        #expect(detector.tick(now: start.advanced(by: .seconds(3))).isEmpty)
        #expect(detector.tick(now: start.advanced(by: .seconds(31))).isEmpty)
        #expect(detector.ejectedCount == 1)
        #expect(detector.tick(now: start.advanced(by: .seconds(32))) == [OutlierEvent(key: "10.0.0.1:8080", kind: .returned, at: until)])
        #expect(detector.ejectedCount == 0)
        #expect(detector.tick(now: start.advanced(by: .seconds(33))).isEmpty)
    }

    @Test("An outcome recorded after the ejection ended returns the endpoint at once; the next tick reports it")
    func lazyReturn() {
        var detector = OutlierDetector(endpoints: endpoints(3))
        eject(0, &detector, now: start)
        _ = detector.tick(now: start)
        let after = start.advanced(by: .seconds(40))
        detector.recordSuccess(0, now: after)
        #expect(detector.ejectedCount == 0)
        #expect(detector.ejectedUntil(0) == nil)
        #expect(detector.tick(now: after) == [OutlierEvent(key: "10.0.0.0:8080", kind: .returned, at: start.advanced(by: .seconds(30)))])
    }

    @Test("Updates follow endpoints by key: an ejection moves with its endpoint, new ones start in service")
    func updateFollowsKeys() {
        var detector = OutlierDetector(endpoints: endpoints(4))
        eject(1, &detector, now: start)
        eject(3, &detector, now: start)
        let next = [
            BalancerEndpoint(key: "10.0.0.9:8080"),
            BalancerEndpoint(key: "10.0.0.2:8080"),
            BalancerEndpoint(key: "10.0.0.1:8080"),
        ]
        detector.update(endpoints: next)
        #expect(detector.keys == next.map(\.key))
        #expect(detector.ejectedCount == 1)
        #expect((0..<3).map { detector.isEjected($0, now: start) } == [false, false, true])
        #expect(detector.ejectedUntil(2) == start.advanced(by: .seconds(30)))
        #expect(!detector.isEjected(3, now: start))
    }

    @Test("Indices out of range are ignored")
    func outOfRange() {
        var detector = OutlierDetector(endpoints: endpoints(2))
        for _ in 0..<10 {
            #expect(detector.recordFailure(-1, now: start) == false)
            #expect(detector.recordFailure(2, now: start) == false)
            detector.recordSuccess(5, now: start)
        }
        #expect(!detector.isEjected(-1, now: start))
        #expect(!detector.isEjected(2, now: start))
        #expect(detector.ejectedUntil(7) == nil)
        #expect(detector.ejectedCount == 0)
    }

    @Test("consecutiveFailures 0 turns consecutive-failure ejection off")
    func consecutiveOff() {
        var detector = OutlierDetector(endpoints: endpoints(4), configuration: .init(consecutiveFailures: 0))
        for _ in 0..<1_000 {
            #expect(detector.recordFailure(0, now: start) == false)
        }
    }

    @Test("The balancer never picks an ejected endpoint, and a ticket finds its endpoint's index after an update")
    func withLoadBalancer() throws {
        var balancer = LoadBalancer(algorithm: .roundRobin, endpoints: endpoints(4))
        var detector = OutlierDetector(endpoints: endpoints(4))
        var rng = Xoshiro256StarStar(seed: 4)
        let ticket = balancer.requestStarted(2, now: start)
        eject(0, &detector, now: start)
        var picked = Set<Int>()
        for _ in 0..<1_000 {
            picked.insert(try #require(balancer.pick(now: start, hash: nil, using: &rng) { !detector.isEjected($0, now: start) }))
        }
        #expect(picked == [1, 2, 3])
        let reordered = [2, 0, 1, 3].map { BalancerEndpoint(key: "10.0.0.\($0):8080") }
        balancer.update(endpoints: reordered)
        detector.update(endpoints: reordered)
        let index = try #require(balancer.index(of: ticket))
        #expect(index == 0)
        for _ in 0..<5 {
            detector.recordFailure(index, now: start)
        }
        #expect(detector.isEjected(0, now: start))
        #expect(detector.keys[0] == "10.0.0.2:8080")
        balancer.update(endpoints: Array(reordered.dropFirst()))
        #expect(balancer.index(of: ticket) == nil)
    }

    /// Five failures in a row on `index`.
    private func eject(_ index: Int, _ detector: inout OutlierDetector, now: Instant) {
        for _ in 0..<5 {
            detector.recordFailure(index, now: now)
        }
        #expect(detector.isEjected(index, now: now))
    }

    /// `successes + failures` outcomes on `index`, the failures spread evenly among them, so
    /// that there are no five in a row unless the rate demands it.
    private func record(_ detector: inout OutlierDetector, _ index: Int, successes: Int, failures: Int, now: Instant) {
        let total = successes + failures
        for step in 0..<total {
            if (step + 1) * failures / total > step * failures / total {
                detector.recordFailure(index, now: now)
            } else {
                detector.recordSuccess(index, now: now)
            }
        }
    }
}
