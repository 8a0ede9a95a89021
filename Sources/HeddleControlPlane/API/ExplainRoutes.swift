import AsyncHTTPClient
import Foundation
import HeddleAPI
import Hummingbird
import NIOCore
import NIOHTTP1

/// `GET /v1/explain/{id}`: why request `id` failed (`heddle explain`), from the records every
/// registered proxy keeps of its last failed requests (`/failures?id=` on its admin endpoint).
enum ExplainRoutes {
    static func add(to router: Router<APIRequestContext>, controlPlane: ControlPlane, client: HTTPClient = .shared) {
        router.get("/v1/explain/{id}") { _, context in
            let id = try context.parameters.require("id")
            guard !id.isEmpty, id.count <= 64, id.allSatisfy({ $0.isHexDigit }) else {
                throw ControlPlaneError(.invalid, "'\(id)' is not a request id (hexadecimal, from heddle-request-id, the access log's request_id, or a trace id)")
            }
            let instances = await controlPlane.instances(service: nil).items.filter { $0.adminAddress != nil }
            let hops = await withTaskGroup(of: [ExplainedHop].self) { group in
                for instance in instances {
                    group.addTask {
                        var request = HTTPClientRequest(url: "http://\(instance.adminAddress!)/failures?id=\(id)")
                        request.method = .GET
                        guard let response = try? await client.execute(request, timeout: .seconds(1)), response.status.code == 200,
                              let body = try? await response.body.collect(upTo: 4 << 20)
                        else { return [] }
                        return String(buffer: body).split(separator: "\n").compactMap { hop(from: $0, instance: instance) }
                    }
                }
                var all: [ExplainedHop] = []
                for await found in group { all += found }
                return all
            }
            guard !hops.isEmpty else {
                throw ControlPlaneError(
                    .notFound,
                    "no proxy remembers a failed request \(id): each keeps its last 256 failures per worker thread (the id comes from a proxy-made error's heddle-request-id header, the access log's request_id, or a trace id)")
            }
            return JSONBody.response(FailureExplainer.explain(id: id, hops: hops, services: await controlPlane.services().items))
        }
    }

    static func hop(from line: Substring, instance: Instance) -> ExplainedHop? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
        func text(_ key: String) -> String? { object[key] as? String }
        return ExplainedHop(
            instance: instance.id, service: instance.service, direction: text("direction") ?? "outbound", method: text("method") ?? "-",
            authority: text("authority") ?? "", path: text("path") ?? "", status: object["status"] as? Int ?? 0,
            latencyMilliseconds: object["latency_ms"] as? Double ?? 0, route: text("route"), backend: text("backend"), endpoint: text("endpoint"),
            source: text("source"), destination: text("destination"), heddleError: text("heddle_error"), details: text("details"),
            retries: object["retries"] as? Int ?? 0)
    }
}
