import HeddleCore
import HeddlePolicy
import Testing

/// `RouteMatch.rewrittenPath`: the path sent upstream after a rule's `URLRewrite`.
@Suite("RouteMatch rewrites")
struct RouteMatchRewriteTests {
    /// The match for `path` on a table whose one rule matches `matches` and rewrites with `path`.
    func match(_ path: String, matches: [HTTPRouteMatch], rewrite: URLRewrite?) throws -> RouteMatch {
        let filters: [HTTPRouteFilter] = rewrite.map { [.urlRewrite($0)] } ?? []
        let table = try makeRouteTable([("r", HTTPRouteSpec(rules: [routeRule("svc", matches: matches, filters: filters)]))])
        return try #require(table.match(TestRouteRequest("h", path)))
    }

    /// Cases from the Gateway API's `HTTPPathModifier` documentation, plus Heddle's own.
    @Test("ReplacePrefixMatch replaces the matched prefix, keeping the rest of the path", arguments: [
        // prefix, replacement, request path, upstream path
        ("/api", "/", "/api/users", "/users"),
        ("/api", "/", "/api", "/"),
        ("/api", "/", "/api/", "/"),
        ("/api", "/v2", "/api/users", "/v2/users"),
        ("/api", "/v2", "/api", "/v2"),
        ("/api", "/v2", "/api/users/", "/v2/users/"),
        ("/api", "/v2", "/api/a/b/c", "/v2/a/b/c"),
        ("/api", "/v2/", "/api/users", "/v2/users"),
        ("/api/", "/v2", "/api/users", "/v2/users"),
        ("/api/", "/v2/", "/api/users", "/v2/users"),
        ("/api/v1", "/v2", "/api/v1/users", "/v2/users"),
        ("/api", "/internal/api", "/api/users", "/internal/api/users"),
        ("/", "/v2", "/users", "/v2/users"),
        ("/", "/", "/users", "/users"),
    ])
    func replacePrefix(prefix: String, replacement: String, path: String, expected: String) throws {
        let found = try match(path, matches: [prefixMatch(prefix)], rewrite: URLRewrite(path: .replacePrefixMatch(replacement)))
        #expect(found.matchedPrefix == prefix)
        #expect(found.rewrittenPath(Substring(path)) == expected)
    }

    /// Gateway API: request `/foo/`, prefix `/foo`, replacement `/xyz` → `/xyz/`. The trailing
    /// slash is part of the rest of the path and must survive.
    @Test("ReplacePrefixMatch keeps a trailing slash after the prefix")
    func replacePrefixKeepsTrailingSlash() throws {
        let found = try match("/api/", matches: [prefixMatch("/api")], rewrite: URLRewrite(path: .replacePrefixMatch("/v2")))
        #expect(found.rewrittenPath("/api/") == "/v2/")
    }

    @Test("ReplacePrefixMatch uses the prefix of the match that matched")
    func prefixOfTheMatchingMatch() throws {
        let rewrite = URLRewrite(path: .replacePrefixMatch("/x"))
        let matches = [prefixMatch("/api"), prefixMatch("/v1/api")]
        let short = try match("/api/users", matches: matches, rewrite: rewrite)
        #expect(short.matchedPrefix == "/api")
        #expect(short.rewrittenPath("/api/users") == "/x/users")
        let long = try match("/v1/api/users", matches: matches, rewrite: rewrite)
        #expect(long.matchedPrefix == "/v1/api")
        #expect(long.rewrittenPath("/v1/api/users") == "/x/users")
    }

    @Test("A rule without matches matches as PathPrefix /, so its whole path is the rest")
    func replacePrefixOnDefaultMatch() throws {
        let found = try match("/users", matches: [], rewrite: URLRewrite(path: .replacePrefixMatch("/v2")))
        #expect(found.matchedPrefix == "/")
        #expect(found.rewrittenPath("/users") == "/v2/users")
    }

    @Test("ReplaceFullPath replaces the whole path, whatever matched", arguments: [
        (prefixMatch("/api"), "/api/users"),
        (prefixMatch("/api"), "/api"),
        (exactMatch("/old"), "/old"),
        (regexMatch("/legacy/.*"), "/legacy/page.php"),
    ])
    func replaceFullPath(matched: HTTPRouteMatch, path: String) throws {
        let found = try match(path, matches: [matched], rewrite: URLRewrite(path: .replaceFullPath("/new/home")))
        #expect(found.rewrittenPath(Substring(path)) == "/new/home")
    }

    @Test("Without a path rewrite the path is unchanged (nil)")
    func noPathRewrite() throws {
        let none = try match("/api/users", matches: [prefixMatch("/api")], rewrite: nil)
        #expect(none.rewrittenPath("/api/users") == nil)
        let hostOnly = try match("/api/users", matches: [prefixMatch("/api")], rewrite: URLRewrite(hostname: "api.internal"))
        #expect(hostOnly.rule.rewrite?.hostname == "api.internal")
        #expect(hostOnly.rewrittenPath("/api/users") == nil)
    }

    @Test("Exact and regex matches have no matched prefix, so ReplacePrefixMatch leaves their path alone")
    func noPrefixToReplace() throws {
        // Configuration validation refuses these rules; the table must still be safe with them.
        let rewrite = URLRewrite(path: .replacePrefixMatch("/v2"))
        let exact = try match("/api", matches: [exactMatch("/api")], rewrite: rewrite)
        #expect(exact.matchedPrefix == nil)
        #expect(exact.rewrittenPath("/api") == nil)
        let regex = try match("/api/x", matches: [regexMatch("/api/.*")], rewrite: rewrite)
        #expect(regex.matchedPrefix == nil)
        #expect(regex.rewrittenPath("/api/x") == nil)
    }

    @Test("Rewrites read from YAML apply as configured")
    func fromYAML() throws {
        let config = try MeshConfig.load(yaml: """
            apiVersion: heddle.dev/v1alpha1
            kind: Service
            metadata:
              name: users
            spec:
              endpoints:
                - address: 10.0.0.1:80
            ---
            apiVersion: heddle.dev/v1alpha1
            kind: HTTPRoute
            metadata:
              name: api
            spec:
              hostnames: [api.example.com]
              rules:
                - matches:
                    - path:
                        type: PathPrefix
                        value: /api/users
                  filters:
                    - type: URLRewrite
                      urlRewrite:
                        hostname: users.internal
                        path:
                          type: ReplacePrefixMatch
                          replacePrefixMatch: /
                  backendRefs:
                    - name: users
                - matches:
                    - path:
                        type: Exact
                        value: /healthz
                  filters:
                    - type: URLRewrite
                      urlRewrite:
                        path:
                          type: ReplaceFullPath
                          replaceFullPath: /live
                  backendRefs:
                    - name: users
            """)
        let table = RouteTable(config: config, listener: "outbound")
        let users = try #require(table.match(TestRouteRequest("api.example.com", "/api/users/42")))
        #expect(users.rewrittenPath("/api/users/42") == "/42")
        #expect(users.rule.rewrite?.hostname == "users.internal")
        let health = try #require(table.match(TestRouteRequest("api.example.com", "/healthz")))
        #expect(health.rewrittenPath("/healthz") == "/live")
    }
}
