import HeddleAPI
import Testing

@testable import HeddleProxy

/// The admin endpoint's `/endpoints`: each worker's view of a service's endpoints, merged.
@Suite("Endpoint states")
struct EndpointStatesTests {
    static func endpoint(_ address: String, _ state: String, ejectedFor: Double? = nil) -> EndpointState {
        EndpointState(
            address: address, identity: nil, weight: 1, state: state, ejectedForSeconds: ejectedFor,
            workersEjecting: state == "ejected" ? 1 : 0, workers: 1)
    }

    @Test("Ejected on any worker wins over unhealthy over available; counts and the longest ejection add up")
    func merged() {
        let merged = EndpointStates.merged([
            [Self.endpoint("10.0.0.1:80", "available"), Self.endpoint("10.0.0.2:80", "ejected", ejectedFor: 5), Self.endpoint("10.0.0.3:80", "available")],
            [Self.endpoint("10.0.0.1:80", "available"), Self.endpoint("10.0.0.2:80", "ejected", ejectedFor: 12), Self.endpoint("10.0.0.3:80", "unhealthy")],
            [Self.endpoint("10.0.0.1:80", "ejected", ejectedFor: 3), Self.endpoint("10.0.0.2:80", "available"), Self.endpoint("10.0.0.3:80", "available")],
        ])
        #expect(merged.map(\.address) == ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"], "in the order the workers list them")
        #expect(merged.map(\.state) == ["ejected", "ejected", "unhealthy"])
        #expect(merged.map(\.workersEjecting) == [1, 2, 0])
        #expect(merged.map(\.workers) == [3, 3, 3])
        #expect(merged.map(\.ejectedForSeconds) == [3, 12, nil])
    }

    @Test("No worker: nothing")
    func empty() {
        #expect(EndpointStates.merged([]).isEmpty)
    }
}
