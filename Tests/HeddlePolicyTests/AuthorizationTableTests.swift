import HeddleCore
import HeddlePolicy
import Testing

/// Who may call whom: the decisions of a service's `AuthorizationPolicy` resources, as Istio
/// makes them (DENY first, then ALLOW-or-default-deny once an ALLOW policy exists).
@Suite("AuthorizationTable")
struct AuthorizationTableTests {
    static let web = "spiffe://heddle.local/service/web"
    static let api = "spiffe://heddle.local/service/api"

    static func request(_ identity: String?, _ method: String? = "GET", _ path: String? = "/users/1", port: Int = 4143) -> AuthorizationRequest {
        let methodText: Substring? = method.map { Substring($0) }
        let pathText: Substring? = path.map { Substring($0) }
        return AuthorizationRequest(identity: identity, method: methodText, path: pathText, port: port)
    }

    static func table(_ policies: (String, AuthorizationPolicySpec)...) -> AuthorizationTable {
        AuthorizationTable(service: "users", policies: policies.map { MeshConfig.NamedAuthorizationPolicy(name: $0.0, spec: $0.1) })
    }

    @Test("Without a policy every caller is allowed, plaintext ones too")
    func noPolicyAllowsAll() {
        let table = Self.table()
        #expect(table.isEmpty)
        #expect(table.decide(Self.request(Self.web)) == .allowed(by: nil))
        #expect(table.decide(Self.request(nil)) == .allowed(by: nil))
    }

    @Test("Once an ALLOW policy exists, only what it allows passes; the rest is denied by default, saying so")
    func allowMakesDefaultDeny() {
        let table = Self.table(("users-from-api", AuthorizationPolicySpec(targetService: "users", rules: [AuthorizationRule(services: ["api"])])))
        #expect(table.decide(Self.request(Self.api)) == .allowed(by: "users-from-api"))
        guard case .denied(let policy, let reason) = table.decide(Self.request(Self.web)) else {
            Issue.record("web was allowed")
            return
        }
        #expect(policy == AuthorizationTable.defaultDeny)
        #expect(reason == "no ALLOW policy of service users (users-from-api) allows spiffe://heddle.local/service/web GET /users/1")
        #expect(!table.decide(Self.request(nil)).isAllowed, "a caller without an identity matches no `from`")
    }

    @Test("A matching DENY rule wins over any ALLOW, and names its policy and rule")
    func denyWins() {
        let table = Self.table(
            ("allow-all", AuthorizationPolicySpec(targetService: "users", rules: [AuthorizationRule()])),
            ("no-deletes-from-web", AuthorizationPolicySpec(targetService: "users", action: .deny, rules: [
                AuthorizationRule(paths: ["/admin*"]),
                AuthorizationRule(identities: [Self.web], methods: ["DELETE"]),
            ])))
        #expect(table.decide(Self.request(Self.web, "DELETE")) == .denied(
            policy: "no-deletes-from-web", reason: "denied by AuthorizationPolicy no-deletes-from-web (rule 1) for spiffe://heddle.local/service/web DELETE /users/1"))
        #expect(table.decide(Self.request(Self.api, "DELETE")) == .allowed(by: "allow-all"))
        #expect(table.decide(Self.request(Self.web, "GET")) == .allowed(by: "allow-all"))
        #expect(!table.decide(Self.request(Self.api, "GET", "/admin/users")).isAllowed)
    }

    @Test("Paths match exactly, by prefix*, by *suffix or *; methods and ports exactly; every field of a rule must match", arguments: [
        (["/users"], "/users", true), (["/users"], "/users/1", false), (["/users/*"], "/users/1", true),
        (["*.json"], "/a/b.json", true), (["*.json"], "/a/b.xml", false), (["*"], "/anything", true),
    ])
    func pathPatterns(paths: [String], path: String, allowed: Bool) {
        let table = Self.table(("p", AuthorizationPolicySpec(targetService: "users", rules: [AuthorizationRule(paths: paths, methods: ["GET"], ports: [4143])])))
        #expect(table.decide(Self.request(Self.web, "GET", path)).isAllowed == allowed)
        #expect(!table.decide(Self.request(Self.web, "POST", path)).isAllowed)
        #expect(!table.decide(Self.request(Self.web, "GET", path, port: 8443)).isAllowed)
    }

    @Test("Identities match exactly or by a prefix ending in *")
    func identityPrefix() {
        let table = Self.table(("mesh", AuthorizationPolicySpec(targetService: "users", rules: [AuthorizationRule(identities: ["spiffe://heddle.local/*"])])))
        #expect(table.decide(Self.request(Self.web)).isAllowed)
        #expect(!table.decide(Self.request("spiffe://other.example/service/web")).isAllowed)
    }

    @Test("A TCP connection (no method, no path): ALLOW rules about HTTP do not match it, DENY rules ignore their HTTP fields")
    func tcpConnections() {
        let tcp = Self.request(Self.web, nil, nil)
        let allowHTTP = Self.table(("http-only", AuthorizationPolicySpec(targetService: "users", rules: [AuthorizationRule(services: ["web"], paths: ["/"])])))
        #expect(!allowHTTP.decide(tcp).isAllowed)
        let denyHTTP = Self.table(("deny-web-posts", AuthorizationPolicySpec(targetService: "users", action: .deny, rules: [AuthorizationRule(services: ["web"], methods: ["POST"])])))
        #expect(!denyHTTP.decide(tcp).isAllowed)
        #expect(denyHTTP.decide(Self.request(Self.api, nil, nil)).isAllowed)
    }

    @Test("Policies of other services do not apply; an ALLOW policy without rules denies everything")
    func scoping() {
        let table = Self.table(
            ("for-api", AuthorizationPolicySpec(targetService: "api", rules: [])),
            ("lockdown", AuthorizationPolicySpec(targetService: "users", rules: [])))
        guard case .denied(let policy, _) = table.decide(Self.request(Self.web)) else {
            Issue.record("allowed under lockdown")
            return
        }
        #expect(policy == AuthorizationTable.defaultDeny)
        #expect(AuthorizationTable(service: "orders", policies: [MeshConfig.NamedAuthorizationPolicy(name: "lockdown", spec: AuthorizationPolicySpec(targetService: "users", rules: []))]).isEmpty)
    }
}
