import AsyncHTTPClient
import Foundation
import HeddleAPI
import Hummingbird
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// `GET /v1/explain/{id}`: why request `id` failed (`heddle explain`), from the records every
/// registered proxy keeps of its last failed requests (`/failures?id=` on its admin endpoint).
enum ExplainRoutes {
    static func add(to router: Router<APIRequestContext>, controlPlane: ControlPlane, client: HTTPClient = .shared) {
        // What a proxy of `from` would do with a described request.
        router.get("/v1/explain") { request, _ in
            let parameters = request.uri.queryParameters
            guard let from = parameters.get("from"), !from.isEmpty, let host = parameters.get("host"), !host.isEmpty else {
                throw ControlPlaneError(.invalid, "describe the request: /v1/explain?from=CALLING-SERVICE&host=HOST&path=/PATH[&method=GET&header=name:value]")
            }
            let path = parameters.get("path") ?? "/"
            guard path.hasPrefix("/") else { throw ControlPlaneError(.invalid, "path must start with '/', not '\(path)'") }
            let callers = await controlPlane.instances(service: from).items.filter { $0.adminAddress != nil }
            guard let caller = callers.first(where: { $0.health == .healthy }) ?? callers.first else {
                throw ControlPlaneError(.notFound, "service '\(from)' has no registered instance whose proxy can be asked")
            }
            var query = ["host=\(queryEscaped(host))", "path=\(queryEscaped(path))", "method=\(queryEscaped(parameters.get("method") ?? "GET"))"]
            for header in parameters.getAll("header") { query.append("header=\(queryEscaped(header))") }
            var proxyRequest = HTTPClientRequest(url: "http://\(caller.adminAddress!)/explain?\(query.joined(separator: "&"))")
            proxyRequest.method = .GET
            let preview: RoutePreview
            do {
                let response = try await client.execute(proxyRequest, timeout: .seconds(2))
                let body = try await response.body.collect(upTo: 4 << 20)
                guard response.status.code == 200 else { throw ControlPlaneError(.unavailable, "the proxy of \(caller.id) answered \(response.status.code)") }
                preview = try JSONDecoder().decode(RoutePreview.self, from: Data(buffer: body))
            } catch let error as ControlPlaneError {
                throw error
            } catch {
                throw ControlPlaneError(.unavailable, "the proxy of \(caller.id) (\(caller.adminAddress!)) could not be asked: \(error)")
            }
            var completed = preview
            completed.instance = caller.id
            let services = Dictionary(await controlPlane.services().items.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            for index in completed.backends.indices {
                let summary = services[completed.backends[index].service]
                completed.backends[index].healthyInstances = summary?.healthyInstances
                completed.backends[index].instances = summary?.totalInstances
            }
            return JSONBody.response(completed)
        }

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
