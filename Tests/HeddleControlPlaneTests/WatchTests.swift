import HeddleAPI
@testable import HeddleControlPlane
import Testing

/// Watches: the current snapshot first, then coalesced pushes of changes; a slow reader
/// never holds up another; acknowledgements and shutdown.
@Suite("ControlPlane watch")
struct WatchTests {
    @Test("A watch gets the current snapshot, then one push for a burst of writes")
    func initialThenCoalesced() async throws {
        // A coalescing window wide enough for three writes even on a loaded 2-core machine.
        let controlPlane = try await makeControlPlane(settings: testSettings(pushDelay: .milliseconds(500)))
        _ = try await controlPlane.apply(yaml: serviceYAML("web"))
        let watch = try await controlPlane.watch(proxyID: "p1", service: "web")
        let collector = PushCollector()
        try await whileRunning(controlPlane) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await collector.collect(watch) }
                try await eventually("the initial push") { collector.all.count == 1 }
                #expect(collector.all.first?.version == 1)
                // Let the push for the write before the watch go by (it changes nothing).
                try await Task.sleep(for: .milliseconds(600))

                _ = try await controlPlane.apply(yaml: serviceYAML("api"))
                _ = try await controlPlane.apply(yaml: routeYAML("shop", backends: ["api"]))
                _ = try await controlPlane.register(RegisterRequest(service: "api", address: "10.0.0.5", port: 80))
                try await eventually("the coalesced push") { collector.all.count == 2 }
                try await Task.sleep(for: .milliseconds(400))
                #expect(collector.all.count == 2, "one push for the burst")
                #expect(collector.all.last?.version == 4)
                #expect(collector.all.last?.yaml.contains("10.0.0.5:80") == true)
                watch.cancel()
                try await group.waitForAll()
            }
        }
    }

    @Test("A change that alters nothing a proxy receives is not pushed")
    func noPushWithoutChange() async throws {
        let controlPlane = try await makeControlPlane()
        _ = try await controlPlane.apply(yaml: serviceYAML("web"))
        let watch = try await controlPlane.watch(proxyID: "p1", service: nil)
        let collector = PushCollector()
        try await whileRunning(controlPlane) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await collector.collect(watch) }
                try await eventually("the initial push") { collector.all.count == 1 }
                // A refused route and the same Service applied again change nothing pushed.
                _ = try await controlPlane.apply(yaml: routeYAML("shop", backends: ["No_where"]))
                _ = try await controlPlane.apply(yaml: serviceYAML("web"))
                try await Task.sleep(for: .milliseconds(300))
                #expect(collector.all.count == 1)
                watch.cancel()
                try await group.waitForAll()
            }
        }
    }

    @Test("A watcher that does not read never blocks another, and then gets only the latest push")
    func slowWatcher() async throws {
        let controlPlane = try await makeControlPlane()
        let slow = try await controlPlane.watch(proxyID: "slow", service: nil)
        let fast = try await controlPlane.watch(proxyID: "fast", service: nil)
        let collector = PushCollector()
        try await whileRunning(controlPlane) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await collector.collect(fast) }
                for (index, name) in ["a", "b", "c"].enumerated() {
                    _ = try await controlPlane.apply(yaml: serviceYAML(name))
                    try await eventually("push \(index + 1) to the fast watcher") { collector.all.count == index + 2 }
                }
                #expect(collector.all.map(\.version) == [0, 1, 2, 3])
                var iterator = slow.makeAsyncIterator()
                let latest = await iterator.next()
                #expect(latest?.version == 3)
                #expect(latest == collector.all.last)
                fast.cancel()
                try await group.waitForAll()
            }
        }
    }

    @Test("Keep-alives reach a watch with nothing to read")
    func keepAlive() async throws {
        let controlPlane = try await makeControlPlane()
        let watch = try await controlPlane.watch(proxyID: "p1", service: nil)
        var events = watch.events.makeAsyncIterator()
        #expect(await events.next() == .push(ConfigPush(version: 0, resources: [])))
        controlPlane.sendKeepAlives()
        #expect(await events.next() == .keepAlive)
    }

    @Test("Acknowledgements and open watches show per proxy; a proxy that never watched cannot ack")
    func proxiesAndAcks() async throws {
        let controlPlane = try await makeControlPlane()
        _ = try await controlPlane.apply(yaml: serviceYAML("web"))
        let unknown = await controlPlaneError { try await controlPlane.ack(proxyID: "gone", PushAck(version: 0, accepted: true)) }
        #expect(unknown?.code == .notFound)
        let watch = try await controlPlane.watch(proxyID: "web-1", service: "web")
        try await controlPlane.ack(proxyID: "web-1", PushAck(version: 1, accepted: true))
        try await controlPlane.watch(proxyID: "gone", service: nil).cancel()
        try await controlPlane.ack(proxyID: "gone", PushAck(version: 0, accepted: false, errors: [FieldError(resource: "Service/web", path: "spec", reason: "bad")]))
        #expect(await controlPlane.proxies().items == [
            ProxyStatus(id: "gone", connected: false, ackedVersion: 0, accepted: false, errors: [FieldError(resource: "Service/web", path: "spec", reason: "bad")]),
            ProxyStatus(id: "web-1", service: "web", connected: true, pushedVersion: 1, ackedVersion: 1, accepted: true),
        ])
        watch.cancel()
        #expect(await controlPlane.proxies().items.map(\.connected) == [false, false])
    }

    @Test("A resource shows which watching proxies run it, reject it, or have not answered yet")
    func rollout() async throws {
        let controlPlane = try await makeControlPlane()
        _ = try await controlPlane.apply(yaml: serviceYAML("web"))
        let a = try await controlPlane.watch(proxyID: "a", service: nil)
        let b = try await controlPlane.watch(proxyID: "b", service: nil)
        let c = try await controlPlane.watch(proxyID: "c", service: nil)
        // Scoped watches count only when their scope takes the resource.
        let d = try await controlPlane.watch(proxyID: "d", service: nil, calls: ["web"])
        let e = try await controlPlane.watch(proxyID: "e", service: nil, calls: ["billing"])
        #expect(try await controlPlane.get(kind: "Service", name: "web").rollout == ResourceRollout(pending: ["a", "b", "c", "d"]))
        d.cancel()
        e.cancel()
        try await controlPlane.ack(proxyID: "a", PushAck(version: 1, accepted: true))
        try await controlPlane.ack(proxyID: "b", PushAck(version: 1, accepted: false, errors: [FieldError(resource: "Service/web", path: "spec", reason: "bad")]))
        // c answers an older version only: still pending for this resource.
        try await controlPlane.ack(proxyID: "c", PushAck(version: 0, accepted: true))
        #expect(try await controlPlane.get(kind: "Service", name: "web").rollout == ResourceRollout(running: ["a"], pending: ["c"], rejected: ["b"]))

        // A newer revision of the resource is pending again where it was running.
        _ = try await controlPlane.apply(yaml: serviceYAML("web", endpoints: ["10.0.0.2:8080"]))
        #expect(try await controlPlane.get(kind: "Service", name: "web").rollout == ResourceRollout(pending: ["a", "b", "c"]))
        // A proxy that stopped watching is no longer counted; a refused or gateway-only
        // resource is not pushed, so has no rollout.
        c.cancel()
        _ = try await controlPlane.apply(yaml: routeYAML("edge", backends: ["web"], parentRefs: ["public"]))
        _ = try await controlPlane.apply(yaml: routeYAML("broken", backends: ["Miss_ing"]))
        let listed = try await controlPlane.list().items
        #expect(listed.first { $0.name == "web" }?.rollout?.total == 2)
        #expect(listed.first { $0.name == "edge" }?.rollout == nil)
        #expect(listed.first { $0.name == "broken" }?.rollout == nil)
        a.cancel()
        b.cancel()
    }

    @Test("Closing the watches ends them and refuses new ones")
    func shutdown() async throws {
        let controlPlane = try await makeControlPlane()
        let watch = try await controlPlane.watch(proxyID: "p1", service: nil)
        var iterator = watch.makeAsyncIterator()
        #expect(await iterator.next() != nil)
        controlPlane.closeWatches()
        #expect(await iterator.next() == nil)
        #expect(controlPlane.isShuttingDown)
        let error = await controlPlaneError { _ = try await controlPlane.watch(proxyID: "p2", service: nil) }
        #expect(error?.code == .unavailable)
    }

    @Test("Malformed proxy ids and service names are refused")
    func invalidWatch() async throws {
        let controlPlane = try await makeControlPlane()
        #expect(await controlPlaneError { _ = try await controlPlane.watch(proxyID: "", service: nil) }?.code == .invalid)
        #expect(await controlPlaneError { _ = try await controlPlane.watch(proxyID: "a b", service: nil) }?.code == .invalid)
        #expect(await controlPlaneError { _ = try await controlPlane.watch(proxyID: "p", service: "Not_A_Name") }?.code == .invalid)
    }
}

/// On-demand discovery: a proxy's watch widened to the services its app turns out to call.
@Suite("ControlPlane learned calls")
struct LearnedCallsTests {
    @Test("Learned names join the watch's scope and their configuration is pushed at once; unknown names are reported")
    func learnedCallsWidenTheWatch() async throws {
        // A coalescing window far longer than the test: the learned push must not wait for it.
        let controlPlane = try await makeControlPlane(settings: testSettings(pushDelay: .seconds(60)))
        _ = try await controlPlane.apply(yaml: stream(serviceYAML("web"), serviceYAML("users-v1"), serviceYAML("other"), routeYAML("users", backends: ["users-v1"])))
        let watch = try await controlPlane.watch(proxyID: "web-1", service: "web", calls: [])
        let collector = PushCollector()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await collector.collect(watch) }
            try await eventually("the initial push") { collector.all.count == 1 }
            #expect(collector.all[0].resources.isEmpty, "a proxy that declared no calls starts with nothing")

            let answer = try await controlPlane.learnCalls(proxyID: "web-1", ["users", "nosuch", "users"])
            #expect(answer == CallsResult(known: ["users"], unknown: ["nosuch"]))
            try await eventually("the learned push") { collector.all.count == 2 }
            #expect(collector.all[1].resources.map(\.key).sorted() == ["HTTPRoute/users", "Service/users-v1"], "the route's backends come along; nothing else")
            let connection = try #require(await controlPlane.hub.connections.first)
            #expect(connection.scope.calls == ["users"])

            // Asking again for what the watch carries changes nothing.
            #expect(try await controlPlane.learnCalls(proxyID: "web-1", ["users"]) == CallsResult(known: ["users"], unknown: []))
            try await Task.sleep(for: .milliseconds(100))
            #expect(collector.all.count == 2)
            watch.cancel()
            try await group.waitForAll()
        }
    }

    @Test("A forgotten name leaves the watch's scope and what only it needed is pushed away; a declared service stays")
    func forgottenCallsNarrowTheWatch() async throws {
        let controlPlane = try await makeControlPlane(settings: testSettings(pushDelay: .seconds(60)))
        _ = try await controlPlane.apply(yaml: stream(serviceYAML("web"), serviceYAML("users-v1"), serviceYAML("orders"), routeYAML("users", backends: ["users-v1"])))
        let watch = try await controlPlane.watch(proxyID: "web-1", service: "web", calls: ["orders"])
        let collector = PushCollector()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await collector.collect(watch) }
            try await eventually("the initial push") { collector.all.count == 1 }
            _ = try await controlPlane.learnCalls(proxyID: "web-1", ["users"])
            try await eventually("the learned push") { collector.all.count == 2 }

            let answer = try await controlPlane.learnCalls(proxyID: "web-1", [], remove: ["users"])
            #expect(answer == CallsResult(known: [], unknown: []))
            try await eventually("the push that forgets") { collector.all.count == 3 }
            // The watch's configuration without users' route and service (the stream sends the
            // proxy the difference).
            #expect(collector.all[1].resources.map(\.key).sorted() == ["HTTPRoute/users", "Service/orders", "Service/users-v1"])
            #expect(collector.all[2].resources.map(\.key) == ["Service/orders"], "\(collector.all[2].resources.map(\.key))")
            let connection = try #require(await controlPlane.hub.connections.first)
            #expect(connection.scope.calls == ["orders"])

            // Forgetting what the watch does not carry changes nothing; a bad name is refused.
            #expect(try await controlPlane.learnCalls(proxyID: "web-1", [], remove: ["users"]) == CallsResult(known: [], unknown: []))
            await #expect { _ = try await controlPlane.learnCalls(proxyID: "web-1", [], remove: ["Not_Valid"]) } throws: {
                ($0 as? ControlPlaneError)?.message.contains("remove: 'Not_Valid' is not a valid service name") == true
            }
            try await Task.sleep(for: .milliseconds(100))
            #expect(collector.all.count == 3)
            watch.cancel()
            try await group.waitForAll()
        }
    }

    @Test("Learning needs an open watch and valid names, and stops at the limit")
    func learnedCallsRefusals() async throws {
        var settings = testSettings()
        settings.maxLearnedCalls = 2
        let controlPlane = try await makeControlPlane(settings: settings)
        _ = try await controlPlane.apply(yaml: stream(serviceYAML("a"), serviceYAML("b"), serviceYAML("c")))
        await #expect(throws: ControlPlaneError.self) { try await controlPlane.learnCalls(proxyID: "nobody", ["a"]) }
        let watch = try await controlPlane.watch(proxyID: "p", service: nil, calls: ["a"])
        await #expect(throws: ControlPlaneError.self) { try await controlPlane.learnCalls(proxyID: "p", ["Not_Valid"]) }
        #expect(try await controlPlane.learnCalls(proxyID: "p", ["b"]).known == ["b"])
        do {
            _ = try await controlPlane.learnCalls(proxyID: "p", ["c"])
            Issue.record("a third service went past the limit of 2")
        } catch let error as ControlPlaneError {
            #expect(error.message.contains("would call more than 2 services"), "\(error.message)")
        }
        // A watch of the whole mesh already carries everything: nothing to widen.
        let whole = try await controlPlane.watch(proxyID: "q", service: nil)
        #expect(try await controlPlane.learnCalls(proxyID: "q", ["c"]).known == ["c"])
        watch.cancel()
        whole.cancel()
    }
}
