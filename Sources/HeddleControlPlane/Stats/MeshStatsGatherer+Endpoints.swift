import AsyncHTTPClient
import Foundation
import HeddleAPI
import HeddleStats
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

extension MeshStatsGatherer {
    /// `service`'s instances, and its endpoints as seen by each proxy whose metrics show it
    /// called the service (asked at their admin `/endpoints`, 16 at a time).
    func endpoints(of service: String, instances: [Instance]) async -> ServiceEndpoints {
        let reading = await latest(instances: instances)
        let callers = instances.filter { instance in
            reading.proxies[instance.id]?.traffic.groups.keys.contains { $0.listener != "inbound" && $0.backend == service } == true
        }
        var views: [ServiceEndpoints.CallerView] = []
        var unreachable: [String] = []
        let client = client
        let timeout = timeout
        await withTaskGroup(of: (Instance, [EndpointState]?).self) { group in
            var pending = callers[...]
            func startNext() {
                guard let caller = pending.popFirst(), let admin = caller.adminAddress else { return }
                group.addTask { (caller, await Self.fetchEndpoints(of: service, admin: admin, client: client, timeout: timeout)) }
            }
            for _ in 0..<16 { startNext() }
            for await (caller, endpoints) in group {
                if let endpoints {
                    views.append(ServiceEndpoints.CallerView(instance: caller.id, service: caller.service, endpoints: endpoints))
                } else {
                    unreachable.append(caller.id)
                }
                startNext()
            }
        }
        return ServiceEndpoints(
            service: service, instances: instances.filter { $0.service == service }.sorted { $0.id < $1.id },
            callers: views.sorted { $0.instance < $1.instance }, callersUnreachable: unreachable.sorted())
    }

    private static func fetchEndpoints(of service: String, admin: String, client: HTTPClient, timeout: Duration) async -> [EndpointState]? {
        var request = HTTPClientRequest(url: "http://\(admin)/endpoints?service=\(queryEscaped(service))")
        request.method = .GET
        guard let response = try? await client.execute(request, timeout: .init(timeout)), response.status == .ok,
              let body = try? await response.body.collect(upTo: 4 << 20)
        else { return nil }
        return try? JSONDecoder().decode([EndpointState].self, from: Data(buffer: body))
    }
}
