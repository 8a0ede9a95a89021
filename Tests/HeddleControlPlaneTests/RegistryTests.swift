import HeddleAPI
import HeddleControlPlane
import Testing

/// Registration, heartbeats, health reports and leases on a virtual clock.
@Suite("ControlPlane registry")
struct RegistryTests {
    @Test("register assigns an id, stores the instance healthy, and lists it")
    func register() async throws {
        let store = TestStore()
        let controlPlane = try await makeControlPlane(store: store)
        let instance = try await controlPlane.register(RegisterRequest(service: "web", address: "10.0.0.5", port: 8080, labels: ["zone": "a"], weight: 3))
        #expect(instance.id.hasPrefix("web-"))
        #expect(instance.health == .healthy)
        #expect(instance.revision == 1)
        let stored = try await store.instances(service: "web")
        #expect(stored.map(\.id) == [instance.id])
        #expect(stored.first?.labels == ["zone": "a"])
        #expect(await controlPlane.instances(service: "web").items == [instance])
        #expect(await controlPlane.instances(service: "api").items.isEmpty)
    }

    @Test("Registering the same service, address and port again keeps the id")
    func reRegister() async throws {
        let controlPlane = try await makeControlPlane()
        let first = try await controlPlane.register(RegisterRequest(service: "web", address: "10.0.0.5", port: 8080))
        let second = try await controlPlane.register(RegisterRequest(service: "web", address: "10.0.0.5", port: 8080, weight: 2))
        #expect(second.id == first.id)
        #expect(await controlPlane.instances().items.map(\.weight) == [2])
        let other = try await controlPlane.register(RegisterRequest(service: "web", address: "10.0.0.6", port: 8080))
        #expect(other.id != first.id)
    }

    @Test("An invalid registration is refused with every field error")
    func invalidRegistration() async throws {
        let controlPlane = try await makeControlPlane()
        let error = await controlPlaneError {
            _ = try await controlPlane.register(RegisterRequest(service: "Web!", address: "bad host", port: 70000, protocol: "smtp", weight: -1, leaseSeconds: 0))
        }
        #expect(error?.code == .invalid)
        #expect(error?.errors.map(\.path) == ["service", "port", "protocol", "weight", "leaseSeconds"])
        let address = await controlPlaneError { _ = try await controlPlane.register(RegisterRequest(service: "web", address: "bad host", port: 80)) }
        #expect(address?.errors.map(\.path) == ["address"])
    }

    @Test("Without heartbeats an instance is marked unhealthy after its lease, then removed after another")
    func leaseExpiry() async throws {
        let store = TestStore()
        let clock = VirtualClock()
        let controlPlane = try await makeControlPlane(store: store, clock: clock)
        let instance = try await controlPlane.register(RegisterRequest(service: "web", address: "10.0.0.5", port: 8080, leaseSeconds: 10))

        clock.advance(.seconds(9))
        await controlPlane.sweepLeases()
        try await controlPlane.heartbeat(id: instance.id)
        #expect(store.writeCount == 1, "heartbeats are not store writes")

        clock.advance(.seconds(9))
        await controlPlane.sweepLeases()
        #expect(await controlPlane.instances().items.first?.health == .healthy)

        clock.advance(.seconds(2))
        await controlPlane.sweepLeases()
        #expect(await controlPlane.instances().items.first?.health == .unhealthy)
        #expect(try await store.instances(service: nil).first?.health == "unhealthy")
        #expect(await controlPlane.services().items == [ServiceSummary(name: "web", declared: false, healthyInstances: 0, totalInstances: 1)])

        clock.advance(.seconds(10))
        await controlPlane.sweepLeases()
        #expect(await controlPlane.instances().items.isEmpty)
        #expect(try await store.instances(service: nil).isEmpty)
        let error = await controlPlaneError { try await controlPlane.heartbeat(id: instance.id) }
        #expect(error?.code == .notFound)
    }

    @Test("A heartbeat after the lease ran out brings the instance back healthy")
    func heartbeatRevives() async throws {
        let clock = VirtualClock()
        let controlPlane = try await makeControlPlane(clock: clock)
        let instance = try await controlPlane.register(RegisterRequest(service: "web", address: "10.0.0.5", port: 8080, leaseSeconds: 5))
        clock.advance(.seconds(6))
        await controlPlane.sweepLeases()
        #expect(await controlPlane.instances().items.first?.health == .unhealthy)
        try await controlPlane.heartbeat(id: instance.id)
        #expect(await controlPlane.instances().items.first?.health == .healthy)
    }

    @Test("Health reports mark an instance unhealthy and healthy again, and renew its lease")
    func healthReports() async throws {
        let store = TestStore()
        let controlPlane = try await makeControlPlane(store: store)
        let instance = try await controlPlane.register(RegisterRequest(service: "web", address: "10.0.0.5", port: 8080))
        #expect(try await controlPlane.reportHealth(id: instance.id, healthy: false).health == .unhealthy)
        #expect(try await controlPlane.reportHealth(id: instance.id, healthy: false).health == .unhealthy)
        #expect(store.writeCount == 2, "a report that changes nothing writes nothing")
        try await controlPlane.heartbeat(id: instance.id)
        #expect(await controlPlane.instances().items.first?.health == .unhealthy, "a heartbeat does not override a report")
        #expect(try await controlPlane.reportHealth(id: instance.id, healthy: true).health == .healthy)
    }

    @Test("deregister removes the instance; an unknown id is not found")
    func deregister() async throws {
        let store = TestStore()
        let controlPlane = try await makeControlPlane(store: store)
        let instance = try await controlPlane.register(RegisterRequest(service: "web", address: "10.0.0.5", port: 8080))
        try await controlPlane.deregister(id: instance.id)
        #expect(try await store.instances(service: nil).isEmpty)
        let error = await controlPlaneError { try await controlPlane.deregister(id: instance.id) }
        #expect(error?.code == .notFound)
    }

    @Test("After a restart, loaded instances get a fresh lease; one stored unhealthy stays so until it heartbeats")
    func restartGrace() async throws {
        let store = TestStore()
        let clock = VirtualClock()
        let before = try await makeControlPlane(store: store, clock: clock)
        let live = try await before.register(RegisterRequest(service: "web", address: "10.0.0.5", port: 8080, leaseSeconds: 5))
        let sick = try await before.register(RegisterRequest(service: "web", address: "10.0.0.6", port: 8080, leaseSeconds: 5))
        _ = try await before.reportHealth(id: sick.id, healthy: false)

        clock.advance(.seconds(60))
        var settings = testSettings()
        settings.restoredLeaseSeconds = 10
        let after = try await makeControlPlane(store: store, clock: clock, settings: settings)
        await after.sweepLeases()
        #expect(await health(after) == [live.id: .healthy, sick.id: .unhealthy])

        clock.advance(.seconds(11))
        try await after.heartbeat(id: sick.id)
        await after.sweepLeases()
        #expect(await health(after) == [live.id: .unhealthy, sick.id: .healthy])
    }

    @Test("services lists declared services and registered ones with their counts")
    func services() async throws {
        let controlPlane = try await makeControlPlane()
        _ = try await controlPlane.apply(yaml: serviceYAML("web", endpoints: []))
        _ = try await controlPlane.register(RegisterRequest(service: "web", address: "10.0.0.5", port: 8080))
        let sick = try await controlPlane.register(RegisterRequest(service: "web", address: "10.0.0.6", port: 8080))
        _ = try await controlPlane.reportHealth(id: sick.id, healthy: false)
        _ = try await controlPlane.register(RegisterRequest(service: "api", address: "10.0.0.7", port: 9090))
        #expect(await controlPlane.services().items == [
            ServiceSummary(name: "api", declared: false, healthyInstances: 1, totalInstances: 1),
            ServiceSummary(name: "web", declared: true, healthyInstances: 1, totalInstances: 2),
        ])
    }

    private func health(_ controlPlane: ControlPlane) async -> [String: Instance.Health] {
        Dictionary(uniqueKeysWithValues: await controlPlane.instances().items.map { ($0.id, $0.health) })
    }
}
