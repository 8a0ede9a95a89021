import HeddleAPI
import Hummingbird

/// `GET /v1/top[?window=SECONDS]`: live traffic per service and route, read from the proxies'
/// metrics (`heddle top`, the dashboard); `GET /v1/services/{name}/endpoints`: a service's
/// instances and their state in each calling proxy; `GET /v1/routes`: every route's rules and
/// weights.
enum StatsRoutes {
    static func add(to router: Router<APIRequestContext>, controlPlane: ControlPlane, gatherer: MeshStatsGatherer) {
        router.get("/v1/top") { request, _ in
            var window = Duration.seconds(10)
            if let text = request.uri.queryParameters.get("window") {
                guard let seconds = Int(text), (1...60).contains(seconds) else {
                    throw ControlPlaneError(.invalid, "window must be a number of seconds from 1 to 60, not '\(text)'")
                }
                window = .seconds(seconds)
            }
            let instances = await controlPlane.instances(service: nil).items
            let services = await controlPlane.services().items
            return JSONBody.response(await gatherer.top(window: window, instances: instances, services: services))
        }
        router.get("/v1/routes") { _, _ in
            JSONBody.response(await controlPlane.routes())
        }
        router.get("/v1/services/{name}/endpoints") { _, context in
            let name = try context.parameters.require("name")
            let services = await controlPlane.services().items
            let instances = await controlPlane.instances(service: nil).items
            guard services.contains(where: { $0.name == name }) else {
                throw ControlPlaneError(.notFound, "no service '\(name)' is declared or registered")
            }
            return JSONBody.response(await gatherer.endpoints(of: name, instances: instances))
        }
    }
}
