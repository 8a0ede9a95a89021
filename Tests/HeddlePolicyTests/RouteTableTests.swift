import HeddleCore
import HeddlePolicy
import Testing

// MARK: - helpers shared with RouteMatchRewriteTests

/// A request as the route table sees it: host lowercased without port, path without query.
struct TestRouteRequest: RouteRequest {
    var host: Substring
    var path: Substring
    var method: Substring
    var headers: [(name: String, value: String)]
    var query: [(name: String, value: String)]

    init(_ host: String, _ path: String = "/", method: String = "GET", headers: [(String, String)] = [], query: [(String, String)] = []) {
        self.host = Substring(host)
        self.path = Substring(path)
        self.method = Substring(method)
        self.headers = headers.map { (name: $0.0, value: $0.1) }
        self.query = query.map { (name: $0.0, value: $0.1) }
    }

    /// Header names are case-insensitive, as in the proxy's implementation.
    func headerValues(_ lowercasedName: String) -> [Substring] {
        headers.filter { $0.name.lowercased() == lowercasedName }.map { Substring($0.value) }
    }

    /// Query parameter names are exact; the first value wins.
    func queryValue(_ name: String) -> Substring? {
        query.first { $0.name == name }.map { Substring($0.value) }
    }
}

/// A rule sending to `backends` (weight 1 each) when any of `matches` holds.
func routeRule(_ backends: String..., matches: [HTTPRouteMatch] = [], filters: [HTTPRouteFilter] = []) -> HTTPRouteRule {
    HTTPRouteRule(matches: matches, filters: filters, backendRefs: backends.map { BackendRef(name: $0) })
}

func prefixMatch(_ value: String, method: String? = nil, headers: [ValueMatch] = [], query: [ValueMatch] = []) -> HTTPRouteMatch {
    HTTPRouteMatch(path: PathMatch(kind: .prefix, value: value), method: method, headers: headers, queryParams: query)
}

func exactMatch(_ value: String, method: String? = nil) -> HTTPRouteMatch {
    HTTPRouteMatch(path: PathMatch(kind: .exact, value: value), method: method)
}

func regexMatch(_ value: String) -> HTTPRouteMatch {
    HTTPRouteMatch(path: PathMatch(kind: .regularExpression, value: value))
}

/// The route table of `listener` for `routes`, with a service for every backend the routes
/// name plus `services` (http1) and `tcpServices`, and a gateway listener per `gateways` name.
func makeRouteTable(
    _ routes: [(name: String, spec: HTTPRouteSpec)],
    services: [String] = [],
    tcpServices: [String] = [],
    gateways: [String] = [],
    listener: String = "outbound"
) throws -> RouteTable {
    var resources: [Resource] = []
    let proxy = ProxySpec(gateways: gateways.enumerated().map { index, name in
        ListenerSpec(name: name, address: HostPort(host: "0.0.0.0", port: 8000 + index))
    })
    resources.append(.proxy(ResourceMetadata(name: "proxy"), proxy))
    var names = Set(services)
    for route in routes {
        for rule in route.spec.rules { names.formUnion(rule.backendRefs.map(\.name)) }
    }
    for (index, name) in names.sorted().enumerated() {
        let spec = ServiceSpec(endpoints: [EndpointSpec(address: HostPort(host: "10.0.0.\(index + 1)", port: 80))])
        resources.append(.service(ResourceMetadata(name: name), spec))
    }
    for (index, name) in tcpServices.enumerated() {
        let spec = ServiceSpec(protocol: .tcp, endpoints: [EndpointSpec(address: HostPort(host: "10.0.1.\(index + 1)", port: 5432))])
        resources.append(.service(ResourceMetadata(name: name), spec))
    }
    for route in routes {
        resources.append(.httpRoute(ResourceMetadata(name: route.name), route.spec))
    }
    return RouteTable(config: try MeshConfig.build(from: resources), listener: listener)
}

extension RouteTable {
    /// The `route#rule` label of the rule `request` is routed by, or nil for no route.
    func label(_ request: TestRouteRequest) -> String? {
        match(request)?.rule.label
    }

    /// The names of the backends of `rule`.
    func backendNames(_ rule: CompiledRule) -> [String] {
        rule.backends.map { serviceNames[$0] }
    }
}

/// A generator that always returns `value`, to pick a known point of a weighted split: with
/// total weight `t`, it draws `⌊t × value / 2⁶⁴⌋`.
struct ConstantRandom: RandomNumberGenerator {
    var value: UInt64
    mutating func next() -> UInt64 { value }

    /// The generator that draws the given fraction (0 ..< 1) of the total weight.
    static func fraction(_ fraction: Double) -> ConstantRandom {
        ConstantRandom(value: UInt64(fraction * 18_446_744_073_709_551_616.0))
    }
}

// MARK: - tests

@Suite("RouteTable")
struct RouteTableTests {
    // MARK: hosts

    @Test("An exact host beats a wildcard host, which beats routes for any host")
    func hostPrecedence() throws {
        // Given least specific first, so configuration order cannot be what decides.
        let table = try makeRouteTable([
            ("any", HTTPRouteSpec(rules: [routeRule("a")])),
            ("wild", HTTPRouteSpec(hostnames: ["*.example.com"], rules: [routeRule("b")])),
            ("exact", HTTPRouteSpec(hostnames: ["api.example.com"], rules: [routeRule("c")])),
        ])
        #expect(table.label(TestRouteRequest("api.example.com", "/x")) == "exact#0")
        #expect(table.label(TestRouteRequest("www.example.com", "/x")) == "wild#0")
        #expect(table.label(TestRouteRequest("a.b.example.com")) == "wild#0", "a wildcard covers several labels")
        #expect(table.label(TestRouteRequest("example.com")) == "any#0", "a wildcard needs at least one label")
        #expect(table.label(TestRouteRequest("xexample.com")) == "any#0")
        #expect(table.label(TestRouteRequest("api.example.com.evil.org")) == "any#0")
        #expect(table.label(TestRouteRequest("other.org")) == "any#0")
    }

    @Test("Host precedence is decided before path precedence")
    func hostBeforePath() throws {
        let table = try makeRouteTable([
            ("any", HTTPRouteSpec(rules: [routeRule("a", matches: [exactMatch("/login")])])),
            ("wild", HTTPRouteSpec(hostnames: ["*.example.com"], rules: [routeRule("b", matches: [prefixMatch("/log")])])),
            ("exact", HTTPRouteSpec(hostnames: ["api.example.com"], rules: [routeRule("c")])),
        ])
        #expect(table.label(TestRouteRequest("api.example.com", "/login")) == "exact#0")
        #expect(table.label(TestRouteRequest("www.example.com", "/login")) == "any#0",
                "'/log' is not a segment prefix of '/login', so the wildcard route has no match")
        #expect(table.label(TestRouteRequest("www.example.com", "/log/in")) == "wild#0")
        #expect(table.label(TestRouteRequest("other.org", "/login")) == "any#0")
    }

    @Test("The longest wildcard wins")
    func longestWildcard() throws {
        let table = try makeRouteTable([
            ("short", HTTPRouteSpec(hostnames: ["*.example.com"], rules: [routeRule("a")])),
            ("long", HTTPRouteSpec(hostnames: ["*.eu.example.com"], rules: [routeRule("b")])),
        ])
        #expect(table.label(TestRouteRequest("api.eu.example.com")) == "long#0")
        #expect(table.label(TestRouteRequest("a.b.eu.example.com")) == "long#0")
        #expect(table.label(TestRouteRequest("eu.example.com")) == "short#0")
        #expect(table.label(TestRouteRequest("api.us.example.com")) == "short#0")
        #expect(table.label(TestRouteRequest("example.com")) == nil)
    }

    @Test("When no rule of the most specific host matches, less specific hosts are tried")
    func hostFallThrough() throws {
        let table = try makeRouteTable([
            ("any", HTTPRouteSpec(rules: [routeRule("a", matches: [prefixMatch("/public")])])),
            ("wild", HTTPRouteSpec(hostnames: ["*.example.com"], rules: [routeRule("b", matches: [prefixMatch("/static")])])),
            ("exact", HTTPRouteSpec(hostnames: ["api.example.com"], rules: [routeRule("c", matches: [prefixMatch("/admin")])])),
        ])
        #expect(table.label(TestRouteRequest("api.example.com", "/admin")) == "exact#0")
        #expect(table.label(TestRouteRequest("api.example.com", "/static/app.js")) == "wild#0")
        #expect(table.label(TestRouteRequest("api.example.com", "/public")) == "any#0")
        #expect(table.label(TestRouteRequest("api.example.com", "/private")) == nil)
    }

    @Test("A route serves each of its hostnames")
    func severalHostnames() throws {
        let table = try makeRouteTable([
            ("multi", HTTPRouteSpec(hostnames: ["a.test", "*.b.test", "c"], rules: [routeRule("svc")])),
        ])
        #expect(table.label(TestRouteRequest("a.test")) == "multi#0")
        #expect(table.label(TestRouteRequest("x.b.test")) == "multi#0")
        #expect(table.label(TestRouteRequest("c")) == "multi#0")
        #expect(table.label(TestRouteRequest("b.test")) == nil)
        #expect(table.label(TestRouteRequest("d")) == nil)
    }

    // MARK: paths

    @Test("Exact beats a longer prefix beats a shorter prefix beats a regex")
    func pathPrecedence() throws {
        // Least specific first, so configuration order cannot be what decides.
        let table = try makeRouteTable([
            ("api", HTTPRouteSpec(rules: [
                routeRule("regex", matches: [regexMatch("/api.*")]),
                routeRule("short", matches: [prefixMatch("/api")]),
                routeRule("long", matches: [prefixMatch("/api/users")]),
                routeRule("exact", matches: [exactMatch("/api/users/me")]),
            ])),
        ])
        #expect(table.label(TestRouteRequest("h", "/api/users/me")) == "api#3")
        #expect(table.label(TestRouteRequest("h", "/api/users/me/x")) == "api#2")
        #expect(table.label(TestRouteRequest("h", "/api/users/42")) == "api#2")
        #expect(table.label(TestRouteRequest("h", "/api/users")) == "api#2")
        #expect(table.label(TestRouteRequest("h", "/api/usersx")) == "api#1")
        #expect(table.label(TestRouteRequest("h", "/api/orders")) == "api#1")
        #expect(table.label(TestRouteRequest("h", "/api")) == "api#1")
        #expect(table.label(TestRouteRequest("h", "/apix")) == "api#0")
        #expect(table.label(TestRouteRequest("h", "/other")) == nil)
    }

    @Test("Rules of different routes for the same host are ordered together")
    func precedenceAcrossRoutes() throws {
        let table = try makeRouteTable([
            ("root", HTTPRouteSpec(rules: [routeRule("a")])),
            ("api", HTTPRouteSpec(rules: [routeRule("b", matches: [prefixMatch("/api")])])),
        ])
        #expect(table.label(TestRouteRequest("h", "/api/x")) == "api#0")
        #expect(table.label(TestRouteRequest("h", "/x")) == "root#0")
    }

    @Test("Prefixes match whole path segments", arguments: [
        ("/api", "/api", true), ("/api", "/api/", true), ("/api", "/api/x/y", true),
        ("/api", "/apix", false), ("/api", "/ap", false), ("/api", "/", false), ("/api", "/API", false),
        ("/api", "/v1/api", false),
        ("/api/", "/api", true), ("/api/", "/api/x", true), ("/api/", "/apix", false),
        ("/a/b", "/a/b/c", true), ("/a/b", "/a/bc", false), ("/a/b", "/a", false),
        ("/", "/", true), ("/", "/anything/at/all", true),
    ])
    func segmentPrefix(prefix: String, path: String, matches: Bool) throws {
        let table = try makeRouteTable([("r", HTTPRouteSpec(rules: [routeRule("svc", matches: [prefixMatch(prefix)])]))])
        let match = table.match(TestRouteRequest("h", path))
        #expect((match != nil) == matches)
        if let match { #expect(match.matchedPrefix == prefix) }
    }

    @Test("Exact paths match only themselves", arguments: [
        ("/api", "/api", true), ("/api", "/api/", false), ("/api", "/api/x", false), ("/api", "/ap", false),
        ("/api/", "/api", false), ("/api/", "/api/", true), ("/", "/", true), ("/", "/x", false),
    ])
    func exactPath(value: String, path: String, matches: Bool) throws {
        let table = try makeRouteTable([("r", HTTPRouteSpec(rules: [routeRule("svc", matches: [exactMatch(value)])]))])
        let match = table.match(TestRouteRequest("h", path))
        #expect((match != nil) == matches)
        #expect(match?.matchedPrefix == nil)
    }

    @Test("Path regexes must match the whole path", arguments: [
        ("/v[0-9]+", "/v1", true), ("/v[0-9]+", "/v12", true), ("/v[0-9]+", "/v1/x", false),
        ("/v[0-9]+", "/xv1", false), ("/v[0-9]+", "/v", false),
        ("/users/[0-9]+/orders", "/users/42/orders", true), ("/users/[0-9]+/orders", "/users/me/orders", false),
    ])
    func regexPath(pattern: String, path: String, matches: Bool) throws {
        let table = try makeRouteTable([("r", HTTPRouteSpec(rules: [routeRule("svc", matches: [regexMatch(pattern)])]))])
        #expect((table.match(TestRouteRequest("h", path)) != nil) == matches)
    }

    @Test("A rule matches when any one of its matches holds, each ranked on its own")
    func severalMatchesPerRule() throws {
        let table = try makeRouteTable([
            ("shop", HTTPRouteSpec(rules: [
                routeRule("catalog", matches: [prefixMatch("/shop")]),
                routeRule("cart", matches: [exactMatch("/shop/cart"), regexMatch("/legacy/.*")]),
            ])),
        ])
        #expect(table.label(TestRouteRequest("h", "/shop/cart")) == "shop#1")
        #expect(table.label(TestRouteRequest("h", "/shop/items")) == "shop#0")
        #expect(table.label(TestRouteRequest("h", "/legacy/cart.php")) == "shop#1")
        #expect(table.label(TestRouteRequest("h", "/elsewhere")) == nil)
    }

    @Test("A rule without matches matches every path")
    func noMatchesMeansEverything() throws {
        let table = try makeRouteTable([("all", HTTPRouteSpec(rules: [routeRule("svc")]))])
        for path in ["/", "/a", "/a/b/c?"] {
            let match = try #require(table.match(TestRouteRequest("anything", path)))
            #expect(match.rule.label == "all#0")
            #expect(match.matchedPrefix == "/")
        }
    }

    // MARK: method, headers, query

    @Test("A method match beats the same path without one")
    func methodMatch() throws {
        let table = try makeRouteTable([
            ("items", HTTPRouteSpec(rules: [
                routeRule("list", matches: [prefixMatch("/items")]),
                routeRule("create", matches: [prefixMatch("/items", method: "POST")]),
            ])),
        ])
        #expect(table.label(TestRouteRequest("h", "/items", method: "GET")) == "items#0")
        #expect(table.label(TestRouteRequest("h", "/items", method: "POST")) == "items#1")
        #expect(table.label(TestRouteRequest("h", "/items/1", method: "DELETE")) == "items#0")
        #expect(table.label(TestRouteRequest("h", "/items", method: "post")) == "items#0", "methods are case-sensitive")
    }

    @Test("Path specificity outranks a method match, and a method-only rule refuses other methods")
    func methodBelowPath() throws {
        let table = try makeRouteTable([
            ("r", HTTPRouteSpec(rules: [
                routeRule("deleter", matches: [prefixMatch("/", method: "DELETE")]),
                routeRule("items", matches: [prefixMatch("/items")]),
            ])),
        ])
        #expect(table.label(TestRouteRequest("h", "/items", method: "DELETE")) == "r#1")
        #expect(table.label(TestRouteRequest("h", "/x", method: "DELETE")) == "r#0")
        #expect(table.label(TestRouteRequest("h", "/x", method: "GET")) == nil)
    }

    @Test("Header matches: exact values, any of several values, more conditions first")
    func headerMatch() throws {
        let table = try makeRouteTable([
            ("r", HTTPRouteSpec(rules: [
                routeRule("stable"),
                routeRule("canary", matches: [prefixMatch("/", headers: [ValueMatch(name: "x-canary", value: "true")])]),
                routeRule("team", matches: [prefixMatch("/", headers: [
                    ValueMatch(name: "x-canary", value: "true"), ValueMatch(name: "x-team", value: "a"),
                ])]),
            ])),
        ])
        #expect(table.label(TestRouteRequest("h")) == "r#0")
        #expect(table.label(TestRouteRequest("h", headers: [("x-canary", "true")])) == "r#1")
        #expect(table.label(TestRouteRequest("h", headers: [("X-Canary", "true")])) == "r#1")
        #expect(table.label(TestRouteRequest("h", headers: [("x-canary", "True")])) == "r#0", "values are case-sensitive")
        #expect(table.label(TestRouteRequest("h", headers: [("x-canary", "false"), ("x-canary", "true")])) == "r#1")
        #expect(table.label(TestRouteRequest("h", headers: [("x-canary", "true"), ("x-team", "a")])) == "r#2")
        #expect(table.label(TestRouteRequest("h", headers: [("x-canary", "true"), ("x-team", "b")])) == "r#1")
        #expect(table.label(TestRouteRequest("h", headers: [("x-team", "a")])) == "r#0")
    }

    @Test("A regex header match must match the whole value", arguments: [
        ("v12", true), ("v1", true), ("v12-beta", false), ("xv1", false), ("v", false), ("", false),
    ])
    func regexHeader(value: String, matches: Bool) throws {
        let table = try makeRouteTable([
            ("r", HTTPRouteSpec(rules: [
                routeRule("versioned", matches: [prefixMatch("/", headers: [ValueMatch(name: "x-version", value: "v[0-9]+", kind: .regularExpression)])]),
            ])),
        ])
        #expect((table.match(TestRouteRequest("h", headers: [("x-version", value)])) != nil) == matches)
        #expect(table.match(TestRouteRequest("h")) == nil)
    }

    @Test("Query parameter matches: exact names and values, or a regex")
    func queryMatch() throws {
        let table = try makeRouteTable([
            ("r", HTTPRouteSpec(rules: [
                routeRule("plain"),
                routeRule("debug", matches: [prefixMatch("/", query: [ValueMatch(name: "debug", value: "1")])]),
                routeRule("paged", matches: [prefixMatch("/list", query: [ValueMatch(name: "page", value: "[0-9]+", kind: .regularExpression)])]),
            ])),
        ])
        #expect(table.label(TestRouteRequest("h", "/", query: [("debug", "1")])) == "r#1")
        #expect(table.label(TestRouteRequest("h", "/", query: [("debug", "2")])) == "r#0")
        #expect(table.label(TestRouteRequest("h", "/", query: [("Debug", "1")])) == "r#0", "query names are case-sensitive")
        #expect(table.label(TestRouteRequest("h", "/")) == "r#0")
        #expect(table.label(TestRouteRequest("h", "/list", query: [("page", "12")])) == "r#2")
        #expect(table.label(TestRouteRequest("h", "/list", query: [("page", "x")])) == "r#0")
        #expect(table.label(TestRouteRequest("h", "/list", query: [("page", "12x")])) == "r#0")
    }

    @Test("Method ranks above headers, and headers above query parameters")
    func conditionRanking() throws {
        let query = [ValueMatch(name: "a", value: "1"), ValueMatch(name: "b", value: "2")]
        let headers = [ValueMatch(name: "x-a", value: "1"), ValueMatch(name: "x-b", value: "2")]
        let table = try makeRouteTable([
            ("r", HTTPRouteSpec(rules: [
                routeRule("by-query", matches: [prefixMatch("/", query: query)]),
                routeRule("by-header", matches: [prefixMatch("/", headers: [headers[0]])]),
                routeRule("by-headers", matches: [prefixMatch("/", headers: headers)]),
                routeRule("by-method", matches: [prefixMatch("/", method: "GET")]),
            ])),
        ])
        let everything = TestRouteRequest("h", "/", method: "GET", headers: [("x-a", "1"), ("x-b", "2")], query: [("a", "1"), ("b", "2")])
        #expect(table.label(everything) == "r#3")
        var noMethod = everything
        noMethod.method = "PUT"
        #expect(table.label(noMethod) == "r#2")
        noMethod.headers.removeLast()
        #expect(table.label(noMethod) == "r#1")
        noMethod.headers = []
        #expect(table.label(noMethod) == "r#0")
        noMethod.query.removeLast()
        #expect(table.label(noMethod) == nil)
    }

    @Test("Every condition of a match must hold")
    func allConditions() throws {
        let table = try makeRouteTable([
            ("r", HTTPRouteSpec(rules: [
                routeRule("strict", matches: [prefixMatch("/api", method: "POST", headers: [ValueMatch(name: "x-a", value: "a")], query: [ValueMatch(name: "q", value: "1")])]),
            ])),
        ])
        #expect(table.label(TestRouteRequest("h", "/api", method: "POST", headers: [("x-a", "a")], query: [("q", "1")])) == "r#0")
        #expect(table.label(TestRouteRequest("h", "/api", method: "POST", headers: [("x-a", "a")])) == nil)
        #expect(table.label(TestRouteRequest("h", "/api", method: "POST", query: [("q", "1")])) == nil)
        #expect(table.label(TestRouteRequest("h", "/api", method: "GET", headers: [("x-a", "a")], query: [("q", "1")])) == nil)
        #expect(table.label(TestRouteRequest("h", "/apx", method: "POST", headers: [("x-a", "a")], query: [("q", "1")])) == nil)
    }

    @Test("Equally specific rules keep configuration order")
    func configurationOrder() throws {
        let table = try makeRouteTable([
            ("first", HTTPRouteSpec(rules: [routeRule("a", matches: [prefixMatch("/api")]), routeRule("b", matches: [prefixMatch("/api")])])),
            ("second", HTTPRouteSpec(rules: [routeRule("c", matches: [prefixMatch("/api")])])),
        ])
        #expect(table.label(TestRouteRequest("h", "/api")) == "first#0")
        let reversed = try makeRouteTable([
            ("second", HTTPRouteSpec(rules: [routeRule("c", matches: [prefixMatch("/api")])])),
            ("first", HTTPRouteSpec(rules: [routeRule("a", matches: [prefixMatch("/api")]), routeRule("b", matches: [prefixMatch("/api")])])),
        ])
        #expect(reversed.label(TestRouteRequest("h", "/api")) == "second#0")
    }

    // MARK: listeners

    @Test("parentRefs attach a route only to the listeners it names")
    func parentRefs() throws {
        let routes: [(name: String, spec: HTTPRouteSpec)] = [
            ("everywhere", HTTPRouteSpec(hostnames: ["all.test"], rules: [routeRule("svc")])),
            ("edge-only", HTTPRouteSpec(parentRefs: ["edge"], hostnames: ["edge.test"], rules: [routeRule("svc")])),
            ("both", HTTPRouteSpec(parentRefs: ["outbound", "edge"], hostnames: ["both.test"], rules: [routeRule("svc")])),
        ]
        let outbound = try makeRouteTable(routes, gateways: ["edge", "internal"], listener: "outbound")
        let edge = try makeRouteTable(routes, gateways: ["edge", "internal"], listener: "edge")
        let internalGateway = try makeRouteTable(routes, gateways: ["edge", "internal"], listener: "internal")

        #expect(outbound.label(TestRouteRequest("all.test")) == "everywhere#0")
        #expect(outbound.label(TestRouteRequest("edge.test")) == nil)
        #expect(outbound.label(TestRouteRequest("both.test")) == "both#0")

        #expect(edge.label(TestRouteRequest("all.test")) == "everywhere#0")
        #expect(edge.label(TestRouteRequest("edge.test")) == "edge-only#0")
        #expect(edge.label(TestRouteRequest("both.test")) == "both#0")

        #expect(internalGateway.label(TestRouteRequest("all.test")) == "everywhere#0")
        #expect(internalGateway.label(TestRouteRequest("edge.test")) == nil)
        #expect(internalGateway.label(TestRouteRequest("both.test")) == nil)

        #expect(!outbound.rules.contains { $0.routeName == "edge-only" })
        #expect(!internalGateway.rules.contains { $0.routeName == "edge-only" || $0.routeName == "both" })
    }

    // MARK: implicit routes

    @Test("A service is reachable by its own name as the host")
    func implicitRoute() throws {
        let table = try makeRouteTable([], services: ["api", "web"])
        #expect(table.serviceNames == ["api", "web"])
        for path in ["/", "/any/path"] {
            let match = try #require(table.match(TestRouteRequest("web", path, method: "DELETE")))
            #expect(match.rule.routeName == "web")
            #expect(match.rule.label == "web#0")
            #expect(table.backendNames(match.rule) == ["web"])
            #expect(match.matchedPrefix == nil)
            #expect(match.rewrittenPath(Substring(path)) == nil)
            #expect(match.rule.requestHeaders == nil && match.rule.responseHeaders == nil && match.rule.rewrite == nil)
            var rng = ConstantRandom.fraction(0.5)
            #expect(match.rule.split.pick(using: &rng) == 0)
        }
        #expect(table.label(TestRouteRequest("api")) == "api#0")
        #expect(table.match(TestRouteRequest("unknown")) == nil)
        #expect(table.match(TestRouteRequest("")) == nil)
        #expect(table.match(TestRouteRequest("web.example.com")) == nil)
    }

    @Test("A tcp service has no implicit HTTP route")
    func noImplicitRouteForTCP() throws {
        let table = try makeRouteTable([], services: ["web"], tcpServices: ["db"])
        #expect(table.match(TestRouteRequest("db")) == nil)
        #expect(table.label(TestRouteRequest("web")) == "web#0")
        #expect(!table.rules.contains { $0.routeName == "db" })
    }

    @Test("An explicit route for a service's name takes precedence; the implicit route catches the rest")
    func explicitBeatsImplicit() throws {
        let table = try makeRouteTable([
            ("web-v2", HTTPRouteSpec(hostnames: ["web"], rules: [routeRule("web-next", matches: [prefixMatch("/v2")])])),
        ], services: ["web"])
        let explicit = try #require(table.match(TestRouteRequest("web", "/v2/users")))
        #expect(explicit.rule.label == "web-v2#0")
        #expect(table.backendNames(explicit.rule) == ["web-next"])
        let implicit = try #require(table.match(TestRouteRequest("web", "/users")))
        #expect(implicit.rule.label == "web#0")
        #expect(table.backendNames(implicit.rule) == ["web"])
        // The route's backend is a service too, so it has its own implicit route.
        #expect(table.label(TestRouteRequest("web-next", "/v2")) == "web-next#0")
    }

    @Test("An any-host route also takes precedence over implicit routes")
    func anyHostBeatsImplicit() throws {
        let catchAll = try makeRouteTable([("all", HTTPRouteSpec(rules: [routeRule("other")]))], services: ["web"])
        #expect(catchAll.label(TestRouteRequest("web", "/x")) == "all#0")
    }

    @Test("Implicit routes exist on every routing listener")
    func implicitOnGateways() throws {
        let table = try makeRouteTable([], services: ["web"], gateways: ["edge"], listener: "edge")
        #expect(table.label(TestRouteRequest("web")) == "web#0")
    }

    @Test("Nothing matching gives nil")
    func noMatch() throws {
        let empty = try makeRouteTable([])
        #expect(empty.match(TestRouteRequest("h", "/")) == nil)
        #expect(empty.rules.isEmpty)
        let table = try makeRouteTable([
            ("r", HTTPRouteSpec(hostnames: ["h"], rules: [routeRule("svc", matches: [exactMatch("/only", method: "GET")])])),
        ])
        #expect(table.match(TestRouteRequest("h", "/only", method: "HEAD")) == nil)
        #expect(table.match(TestRouteRequest("h", "/only/")) == nil)
        #expect(table.match(TestRouteRequest("H", "/only")) == nil, "the request's host arrives lowercased")
        #expect(table.match(TestRouteRequest("other", "/only")) == nil)
    }

    // MARK: compiled rules

    @Test("Backends become service indices, in backendRefs order, with their weights as the split")
    func backendsAndSplit() throws {
        let table = try makeRouteTable([
            ("split", HTTPRouteSpec(rules: [
                HTTPRouteRule(backendRefs: [BackendRef(name: "zeta", weight: 90), BackendRef(name: "alpha", weight: 10)]),
            ])),
        ], services: ["unused"])
        #expect(table.serviceNames == ["alpha", "unused", "zeta"])
        let match = try #require(table.match(TestRouteRequest("h")))
        #expect(match.rule.backends == [2, 0])
        #expect(table.backendNames(match.rule) == ["zeta", "alpha"])
        // The split indexes `backends`: draws below 90 % pick zeta, the rest alpha.
        for (fraction, expected) in [(0.0, 0), (0.5, 0), (0.89, 0), (0.91, 1), (0.999, 1)] {
            var rng = ConstantRandom.fraction(fraction)
            #expect(match.rule.split.pick(using: &rng) == expected, "at \(fraction)")
        }
        var top = ConstantRandom(value: .max)
        #expect(match.rule.split.pick(using: &top) == 1)
    }

    @Test("A backend of weight 0 gets nothing")
    func zeroWeightBackend() throws {
        let table = try makeRouteTable([
            ("r", HTTPRouteSpec(rules: [
                HTTPRouteRule(backendRefs: [BackendRef(name: "old", weight: 0), BackendRef(name: "new", weight: 5)]),
            ])),
        ])
        let rule = try #require(table.match(TestRouteRequest("h"))?.rule)
        #expect(table.backendNames(rule) == ["old", "new"])
        for value: UInt64 in [0, 1 << 32, 1 << 63, .max] {
            var rng = ConstantRandom(value: value)
            #expect(rule.split.pick(using: &rng) == 1)
        }
    }

    @Test("Rule ids index the table's rules; labels are route#rule-index")
    func ruleIdentity() throws {
        let table = try makeRouteTable([
            ("one", HTTPRouteSpec(rules: [routeRule("a", matches: [prefixMatch("/a")]), routeRule("b", matches: [prefixMatch("/b")])])),
            ("two", HTTPRouteSpec(rules: [routeRule("c", matches: [prefixMatch("/c")])])),
        ])
        for (index, rule) in table.rules.enumerated() {
            #expect(rule.id == index)
        }
        let b = try #require(table.match(TestRouteRequest("h", "/b")))
        #expect(b.rule.routeName == "one")
        #expect(b.rule.ruleIndex == 1)
        #expect(b.rule.label == "one#1")
        #expect(table.rules[b.rule.id].label == "one#1")
        let c = try #require(table.match(TestRouteRequest("h", "/c")))
        #expect(c.rule.label == "two#0")
        #expect(table.rules[c.rule.id].routeName == "two")
        // Three explicit rules, then one implicit rule per service.
        #expect(table.rules.map(\.label) == ["one#0", "one#1", "two#0", "a#0", "b#0", "c#0"])
    }

    @Test("Filters compile into the rule: header modifiers merged in order, the rewrite kept")
    func filters() throws {
        let table = try makeRouteTable([
            ("r", HTTPRouteSpec(rules: [
                routeRule("svc", matches: [prefixMatch("/f")], filters: [
                    .requestHeaderModifier(HeaderModifier(set: [HeaderValue(name: "x-a", value: "1")], remove: ["x-gone"])),
                    .responseHeaderModifier(HeaderModifier(add: [HeaderValue(name: "x-served-by", value: "heddle")])),
                    .requestHeaderModifier(HeaderModifier(set: [HeaderValue(name: "x-b", value: "2")], add: [HeaderValue(name: "x-c", value: "3")], remove: ["x-also-gone"])),
                    .urlRewrite(URLRewrite(hostname: "internal.svc", path: .replaceFullPath("/fixed"))),
                ]),
                routeRule("svc"),
            ])),
        ])
        let filtered = try #require(table.match(TestRouteRequest("h", "/f"))?.rule)
        #expect(filtered.requestHeaders == HeaderModifier(
            set: [HeaderValue(name: "x-a", value: "1"), HeaderValue(name: "x-b", value: "2")],
            add: [HeaderValue(name: "x-c", value: "3")],
            remove: ["x-gone", "x-also-gone"]))
        #expect(filtered.responseHeaders == HeaderModifier(add: [HeaderValue(name: "x-served-by", value: "heddle")]))
        #expect(filtered.rewrite == URLRewrite(hostname: "internal.svc", path: .replaceFullPath("/fixed")))

        let plain = try #require(table.match(TestRouteRequest("h", "/other"))?.rule)
        #expect(plain.label == "r#1")
        #expect(plain.requestHeaders == nil)
        #expect(plain.responseHeaders == nil)
        #expect(plain.rewrite == nil)
    }

    @Test("A table of everything to one service routes every request to it")
    func everythingTo() {
        let table = RouteTable(everythingTo: 1, serviceNames: ["other", "app"], routeName: "inbound")
        for request in [TestRouteRequest("x"), TestRouteRequest("", "/a/b", method: "POST"), TestRouteRequest("app", "/")] {
            let match = table.match(request)
            #expect(match?.rule.label == "inbound#0")
            #expect(match?.rule.backends == [1])
            #expect(match?.rewrittenPath(request.path) == nil)
        }
    }

    // MARK: from YAML

    @Test("Routes read from YAML route as written: hostnames and header names case-insensitively")
    func fromYAML() throws {
        let config = try MeshConfig.load(yaml: """
            apiVersion: heddle.dev/v1alpha1
            kind: Service
            metadata:
              name: stable
            spec:
              endpoints:
                - address: 10.0.0.1:80
            ---
            apiVersion: heddle.dev/v1alpha1
            kind: Service
            metadata:
              name: canary
            spec:
              endpoints:
                - address: 10.0.0.2:80
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata:
              name: shop
            spec:
              hostnames: [Shop.Example.COM]
              rules:
                - backendRefs:
                    - name: stable
                - matches:
                    - headers:
                        - name: X-Canary
                          value: "yes"
                  backendRefs:
                    - name: canary
            """)
        let table = RouteTable(config: config, listener: "outbound")
        #expect(table.label(TestRouteRequest("shop.example.com", "/cart")) == "shop#0")
        let canary = try #require(table.match(TestRouteRequest("shop.example.com", "/cart", headers: [("x-canary", "yes")])))
        #expect(canary.rule.label == "shop#1")
        #expect(table.backendNames(canary.rule) == ["canary"])
        #expect(table.match(TestRouteRequest("shop.example.org")) == nil)
    }
}
