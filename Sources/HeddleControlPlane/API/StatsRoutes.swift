import HeddleAPI
import Hummingbird

/// `GET /v1/top[?window=SECONDS]`: live traffic per service and route, read from the proxies'
/// metrics (`heddle top`).
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
    }
}
