import Foundation
import Testing

/// `AuthorizationPolicy` through the real binary: applied to the control plane, enforced by
/// the destination's sidecar on the identities callers prove over mutual TLS.
@Suite(.serialized)
struct AuthorizationTests {
    static let policies = """
        apiVersion: heddle.dev/v1alpha1
        kind: AuthorizationPolicy
        metadata:
          name: api-allow-web
        spec:
          targetService: api
          action: ALLOW
          rules:
            - from:
                services: [web]
              to:
                methods: [GET]
                paths: ["/hello", "/admin*"]
        ---
        apiVersion: heddle.dev/v1alpha1
        kind: AuthorizationPolicy
        metadata:
          name: api-deny-admin
        spec:
          targetService: api
          action: DENY
          rules:
            - to:
                paths: ["/admin*"]
        """

    static func call(_ sidecar: SidecarProcess, _ path: String, method: String = "GET") throws -> String {
        try curl(["-i", "-X", method, "-H", "Host: api", "http://127.0.0.1:\(sidecar.outbound)\(path)"]).output
    }

    @Test func policiesAllowAndDenyAsWrittenEachDenialNamedCountedAndLogged() async throws {
        let cp = try await ControlPlaneProcess()
        let app = try await Upstream(.http, name: "api")
        let api = try await SidecarProcess(controlPlane: cp.url, service: "api", appPort: app.port)
        let web = try await SidecarProcess(controlPlane: cp.url, service: "web", appPort: try await Upstream(.http, name: "web").port)
        let ops = try await SidecarProcess(controlPlane: cp.url, service: "ops", appPort: try await Upstream(.http, name: "ops").port)
        for _ in 0..<100 where try !Self.call(ops, "/hello").contains("hello from api") {
            try await Task.sleep(for: .milliseconds(50))
        }
        // No policy yet: everyone may call.
        #expect(try Self.call(ops, "/hello").contains("hello from api"))

        let applied = try await cp.apply(Self.policies)
        #expect(applied.status == 0, "\(applied.output)")
        var denied = ""
        for _ in 0..<100 {
            denied = try Self.call(ops, "/hello")
            if denied.hasPrefix("HTTP/1.1 403") { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        // ops is not allowed: default deny once an ALLOW policy exists, saying which policies.
        #expect(denied.hasPrefix("HTTP/1.1 403") && denied.contains("heddle-error: denied-by-policy"), "\(denied)")
        #expect(denied.contains("no ALLOW policy of service api (api-allow-web) allows spiffe://heddle.local/service/ops GET /hello"), "\(denied)")
        #expect(!denied.contains("hello from api"))
        // web may GET /hello, but not POST it, and no one may reach /admin (DENY wins).
        #expect(try Self.call(web, "/hello").contains("hello from api"))
        let post = try Self.call(web, "/hello", method: "POST")
        #expect(post.hasPrefix("HTTP/1.1 403") && post.contains("spiffe://heddle.local/service/web POST /hello"), "\(post)")
        let admin = try Self.call(web, "/admin/users")
        #expect(admin.hasPrefix("HTTP/1.1 403") && admin.contains("denied by AuthorizationPolicy api-deny-admin (rule 0)"), "\(admin)")

        // `heddle describe` says whom a policy lets in, in words.
        let described = try await cp.cli(["describe", "AuthorizationPolicy", "api-allow-web"])
        for expected in [
            "Target:     api (1 healthy of 1 instances)", "Action:     ALLOW, 1 rule", "rule 0: from services web; to GET /hello /admin*",
            "Callers:    only what api-allow-web allows (default deny); denied first by api-deny-admin",
        ] {
            #expect(described.output.contains(expected), "missing '\(expected)' in:\n\(described.output)")
        }

        // A gRPC call is denied with PERMISSION_DENIED.
        let grpc = try curl([
            "--http2-prior-knowledge", "-s", "-D", "-", "-o", "/dev/null", "-H", "Host: api", "-H", "content-type: application/grpc",
            "--data-binary", "", "http://127.0.0.1:\(ops.outbound)/pkg.Users/Get",
        ]).output
        #expect(grpc.contains("grpc-status: 7") && grpc.contains("heddle-error: denied-by-policy"), "\(grpc)")

        // Counted by the policy that denied, and logged with it, on api's sidecar.
        let metrics = try curl(["http://127.0.0.1:\(api.admin)/metrics"]).output
        #expect((ResilienceTests.value(metrics, #"heddle_authorization_denials_total{policy="default-deny"}"#) ?? 0) >= 3, "\(metrics)")
        #expect(ResilienceTests.value(metrics, #"heddle_authorization_denials_total{policy="api-deny-admin"}"#) == 1, "\(metrics)")
        _ = try await api.child.waitForOutput { $0.contains("denied by policy") && $0.contains("policy=api-deny-admin") && $0.contains("caller=spiffe://heddle.local/service/web") }

        // Policies removed: back to default allow.
        #expect(try await cp.cli(["delete", "authorizationpolicy", "api-allow-web"]).status == 0)
        #expect(try await cp.cli(["delete", "authorizationpolicy", "api-deny-admin"]).status == 0)
        var restored = ""
        for _ in 0..<100 {
            restored = try Self.call(ops, "/hello")
            if restored.contains("hello from api") { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(restored.contains("hello from api"), "\(restored)")
    }

    @Test func aDeniedTCPConnectionIsClosedBeforeItReachesTheApp() async throws {
        let echo = try await Upstream(.tcpEcho, name: "echo")
        let config = Config.proxy(inbound: "address: 127.0.0.1:0\nappAddress: \(echo.address)\nprotocol: tcp\nservice: db") + """
            ---
            apiVersion: heddle.dev/v1alpha1
            kind: AuthorizationPolicy
            metadata:
              name: db-from-api-only
            spec:
              targetService: db
              rules:
                - from:
                    services: [api]
            """
        let proxy = try await HeddleProxyProcess(config: config, expectListeners: ["outbound", "inbound", "admin"])
        let connection = try RawConnection(port: proxy.ports["inbound"] ?? 0)
        connection.send("plaintext callers have no identity\n")
        #expect(connection.readAll() == "", "the connection is closed without an answer")
        let metrics = try curl(["http://127.0.0.1:\(proxy.admin)/metrics"]).output
        #expect(ResilienceTests.value(metrics, #"heddle_authorization_denials_total{policy="default-deny"}"#) == 1, "\(metrics)")
        #expect(ResilienceTests.value(metrics, #"heddle_proxy_errors_total{reason="denied-by-policy"}"#) == 1, "\(metrics)")
    }
}

/// `heddle check` through the real binary: the mesh's CA, instances and policies, and one
/// proxy's identity, certificate, trust bundle and policies.
@Suite(.serialized)
struct CheckTests {
    @Test func checkReportsTheMeshAndAProxyAndFailsOnAProblem() async throws {
        let cp = try await ControlPlaneProcess()
        let api = try await SidecarProcess(controlPlane: cp.url, service: "api", appPort: try await Upstream(.http, name: "api").port)
        _ = try await SidecarProcess(controlPlane: cp.url, service: "web", appPort: try await Upstream(.http, name: "web").port)
        #expect(try await cp.apply(AuthorizationTests.policies).status == 0)
        // Until api's sidecar runs the policies.
        for _ in 0..<100 where !(try curl(["http://127.0.0.1:\(api.admin)/identity"]).output.contains("api-deny-admin")) {
            try await Task.sleep(for: .milliseconds(50))
        }

        let checked = try await cp.cli(["check", "--proxy", "127.0.0.1:\(api.admin)"])
        #expect(checked.status == 0, "\(checked.output)")
        for expected in [
            "Certificate authority (trust domain heddle.local)", "✓ no root rotation under way", "all reached over mutual TLS",
            "✓ api: default deny (only what api-allow-web allows); denied first: api-deny-admin", "✓ no policy, every caller allowed: web",
            "Proxy 127.0.0.1:\(api.admin) (service api)", "✓ identity spiffe://heddle.local/service/api", "✓ certificate valid until",
            "✓ the certificate chains to its trust bundle (1 root) and follows the mesh's rules", "✓ its trust bundle is the control plane's",
            "✓ inbound listener: mutual TLS required (strict)",
            "✓ authorization for api: default deny, allowed by api-allow-web; denied first by api-deny-admin", "0 problems, 0 warnings",
        ] {
            #expect(checked.output.contains(expected), "missing '\(expected)' in:\n\(checked.output)")
        }

        // A rotation under way is worth a look; an unreachable proxy is a problem (exit 1).
        #expect(try await cp.cli(["ca", "rotate", "prepare"]).status == 0)
        let rotating = try await cp.cli(["check", "--proxy", "127.0.0.1:\(TestSupport.freePort())"])
        #expect(rotating.status == 1, "\(rotating.output)")
        #expect(rotating.output.contains("! root rotation prepared: run `heddle ca rotate activate`"), "\(rotating.output)")
        #expect(rotating.output.contains("✗ its admin endpoint cannot be read"), "\(rotating.output)")
        #expect(rotating.output.contains("1 problem, 1 warning"), "\(rotating.output)")
    }
}
