import Benchmark
import HeddleCore
import HeddleHTTP1
import HeddlePolicy
import HeddleProxy

/// A sidecar's outbound routes: the canary example (header match, prefix match with a
/// rewrite, a 90/10 split), a wildcard host, and services reached by their own name.
private let meshYAML = """
    apiVersion: heddle.dev/v1alpha1
    kind: Proxy
    metadata: {name: sidecar}
    spec:
      outbound: {address: 127.0.0.1:4140}
    ---
    \((["shop-v1", "shop-v2", "users", "orders", "payments", "inventory", "search", "reviews", "auth", "notifications"]).enumerated().map { index, name in
        """
        apiVersion: heddle.dev/v1alpha1
        kind: Service
        metadata: {name: \(name)}
        spec:
          endpoints:
            - address: 10.0.\(index).1:8080
            - address: 10.0.\(index).2:8080
        """
    }.joined(separator: "\n---\n"))
    ---
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {name: shop}
    spec:
      hostnames: [shop, shop.example.com]
      rules:
        - matches:
            - headers:
                - {name: x-canary, value: always}
          backendRefs: [{name: shop-v2}]
        - matches:
            - path: {type: PathPrefix, value: /api/v1}
          filters:
            - type: URLRewrite
              urlRewrite:
                path: {type: ReplacePrefixMatch, replacePrefixMatch: /}
            - type: RequestHeaderModifier
              requestHeaderModifier:
                set: [{name: x-forwarded-prefix, value: /api/v1}]
                add: [{name: x-route, value: shop-api-v1}]
                remove: [cookie]
          backendRefs: [{name: shop-v1}]
        - backendRefs:
            - {name: shop-v1, weight: 90}
            - {name: shop-v2, weight: 10}
    ---
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {name: tenants}
    spec:
      hostnames: ["*.tenants.example.com"]
      rules:
        - matches:
            - path: {type: PathPrefix, value: /orders}
          backendRefs: [{name: orders}]
        - matches:
            - path: {type: PathPrefix, value: /payments}
              method: POST
          backendRefs: [{name: payments}]
        - backendRefs: [{name: search}]
    """

let meshConfig: MeshConfig = {
    do {
        return try MeshConfig.load(yaml: meshYAML)
    } catch {
        fatalError("the benchmark mesh does not load: \(error)")
    }
}()

func routeTable() -> RouteTable {
    RouteTable(config: meshConfig, listener: "outbound")
}

/// A request as the proxy's route table sees it: HeddleProxy's own `HTTP1RouteRequest`.
func request(_ host: String, _ target: String, method: String = "GET", _ extraFields: String = "") -> HTTP1RouteRequest {
    HTTP1RouteRequest(head: Fixture.requestHead("\(method) \(target) HTTP/1.1\r\nHost: \(host)\r\nAccept: */*\r\n\(extraFields)\r\n"))
}

/// The rule `request` is routed by (nil: no route), checked before anything is timed.
private func expect(_ table: RouteTable, _ request: HTTP1RouteRequest, _ label: String?) {
    let found = table.match(request)?.rule.label
    precondition(found == label, "\(request.host)\(request.path) routed to \(found ?? "nothing"), expected \(label ?? "no route")")
}

/// A benchmark of `table.match(request)` alone, once `request` is checked to route by `label`.
private func matchBenchmark(_ name: String, _ table: RouteTable, _ request: HTTP1RouteRequest, routesBy label: String?) {
    expect(table, request, label)
    Benchmark(name) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(table.match(request))
        }
    }
}

func registerRoutingBenchmarks() {
    let table = routeTable()

    // The request view the proxy builds from each parsed head before matching.
    let head = Fixture.requestHead(Fixture.request)
    let view = HTTP1RouteRequest(head: head)
    precondition(view.host == "shop.example.com" && view.path == "/api/v1/products/42" && view.method == "GET", "request view: \(view.host) \(view.path) \(view.method)")
    Benchmark("Route: request view of a parsed head (host, path, method)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(HTTP1RouteRequest(head: head))
        }
    }

    matchBenchmark("Route: match, service by its own name (implicit route)", table, request("users", "/v1/users/42"), routesBy: "users#0")

    let prefix = request("shop.example.com", "/api/v1/products/42")
    expect(table, prefix, "shop#1")
    Benchmark("Route: match, path prefix + rewritten path") { benchmark in
        for _ in benchmark.scaledIterations {
            let match = table.match(prefix)!
            blackHole(match.rewrittenPath(prefix.path))
        }
    }

    matchBenchmark("Route: match, header rule (x-canary)", table, request("shop", "/cart", "x-canary: always\r\n"), routesBy: "shop#0")

    let split = request("shop", "/cart")
    expect(table, split, "shop#2")
    Benchmark("Route: match + 90/10 weighted split pick") { benchmark in
        var rng = Xoshiro256StarStar(seed: 7)
        for _ in benchmark.scaledIterations {
            let match = table.match(split)!
            blackHole(match.rule.split.pick(using: &rng))
        }
    }

    matchBenchmark("Route: match, wildcard host, prefix + method", table, request("acme.tenants.example.com", "/payments/charge", method: "POST"), routesBy: "tenants#1")
    matchBenchmark("Route: no route (404)", table, request("unknown.example.org", "/"), routesBy: nil)
}
