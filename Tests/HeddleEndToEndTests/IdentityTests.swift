import Foundation
import Testing

/// The control plane's certificate authority through the real binary, checked with openssl.
@Suite
struct IdentityTests {
    /// The timestamp (to the second) of the `occurrence`-th log line containing `phrase`.
    static func logSecond(of phrase: String, occurrence: Int, in log: String) -> Date? {
        let lines = log.split(separator: "\n").filter { $0.contains(phrase) }
        guard lines.count >= occurrence, let stamp = lines[occurrence - 1].split(separator: " ").first else { return nil }
        return ISO8601DateFormatter().date(from: String(stamp))
    }

    /// Runs `openssl ARGUMENTS` to completion; its output and status.
    static func openssl(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let run = try ChildProcess(name: "openssl-\(UUID().uuidString.prefix(6))", executable: TestSupport.which("openssl") ?? "/usr/bin/openssl", arguments: arguments)
        guard let status = await run.waitForExit(timeout: .seconds(30)) else { throw TestFailure("openssl \(arguments) did not finish") }
        return (status, run.stdout + run.stderr)
    }

    @Test func aJoinTokenGetsAnOpensslKeyACertificateThatOpensslVerifiesAsTheService() async throws {
        let cp = try await ControlPlaneProcess()
        let created = try await cp.cli(["token", "create", "--service", "web", "--ttl", "300"])
        let token = created.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(created.status == 0 && token.hasPrefix("hjt1."), "\(created.output)")

        // The proxy's side, played by openssl: its own key and a request that asks for another name.
        let directory = TestSupport.scratchDirectory()
        let made = try await Self.openssl([
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "\(directory)/key.pem",
            "-subj", "/CN=admin", "-addext", "subjectAltName=URI:spiffe://heddle.local/service/admin", "-out", "\(directory)/csr.pem",
        ])
        #expect(made.status == 0, "\(made.output)")
        let csr = try String(contentsOfFile: "\(directory)/csr.pem", encoding: .utf8)
        let body = try JSONSerialization.data(withJSONObject: ["csr": csr, "token": token])
        try body.write(to: URL(fileURLWithPath: "\(directory)/request.json"))
        let answer = try curl(["-H", "Content-Type: application/json", "--data-binary", "@\(directory)/request.json", "\(cp.url)/v1/certificates"]).output
        let issued = try #require(try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any], "\(answer)")
        #expect(issued["identity"] as? String == "spiffe://heddle.local/service/web", "the token's service, not the name the request asked for: \(answer)")
        try (issued["certificateChain"] as? String ?? "").write(toFile: "\(directory)/chain.pem", atomically: true, encoding: .utf8)
        try (issued["trustBundle"] as? String ?? "").write(toFile: "\(directory)/bundle.pem", atomically: true, encoding: .utf8)

        let verified = try await Self.openssl(["verify", "-CAfile", "\(directory)/bundle.pem", "-purpose", "sslclient", "\(directory)/chain.pem"])
        #expect(verified.status == 0 && verified.output.contains("OK"), "\(verified.output)")
        let text = try await Self.openssl(["x509", "-in", "\(directory)/chain.pem", "-noout", "-text"])
        #expect(text.output.contains("URI:spiffe://heddle.local/service/web") && !text.output.contains("service/admin"), "\(text.output)")
        #expect(text.output.contains("CA:FALSE") && text.output.contains("TLS Web Server Authentication, TLS Web Client Authentication"), "\(text.output)")
        // The key the proxy made is the certificate's: its private key never left it.
        let keyModulus = try await Self.openssl(["pkey", "-in", "\(directory)/key.pem", "-pubout"])
        let certKey = try await Self.openssl(["x509", "-in", "\(directory)/chain.pem", "-noout", "-pubkey"])
        #expect(keyModulus.output == certKey.output)

        // A token that is not the control plane's is refused with 403 and the reason.
        let forged = try JSONSerialization.data(withJSONObject: ["csr": csr, "token": "hjt1.e30.AAAA"])
        try forged.write(to: URL(fileURLWithPath: "\(directory)/forged.json"))
        let refused = try curl(["-w", " %{http_code}", "-H", "Content-Type: application/json", "--data-binary", "@\(directory)/forged.json", "\(cp.url)/v1/certificates"]).output
        #expect(refused.hasSuffix(" 403") && refused.contains("not issued by this control plane"), "\(refused)")
        // The root and the token key stay in the data directory, the keys readable by the owner only.
        let attributes = try FileManager.default.attributesOfItem(atPath: "\(cp.dataDir)/identity/ca-key.pem")
        #expect(attributes[.posixPermissions] as? Int == 0o600)
    }

    @Test func aSidecarJoinsWithItsTokenAndRenewsItsCertificateAtHalfLife() async throws {
        let cp = try await ControlPlaneProcess(extra: ["--certificate-lifetime", "6"])
        let token = try await cp.cli(["token", "create", "--service", "api"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        let api = try await Upstream(.http, name: "api")
        let sidecar = try await SidecarProcess(controlPlane: cp.url, service: "api", appPort: api.port, extra: ["--join-token", token])
        _ = try await sidecar.child.waitForOutput { $0.contains("workload certificate issued") }
        // Six-second certificates: renewed at about three seconds, with the same key — twice
        // in about seven seconds, not in a loop.
        _ = try await sidecar.child.waitForOutput(timeout: .seconds(20)) { $0.components(separatedBy: "workload certificate renewed").count >= 3 }
        // Timed by the log's own timestamps (whole seconds), not by when this test saw the lines,
        // which a loaded runner may make late: issued at t, renewed near t+3 and t+6.
        let issued = try #require(Self.logSecond(of: "workload certificate issued", occurrence: 1, in: sidecar.child.stderr))
        let secondRenewal = try #require(Self.logSecond(of: "workload certificate renewed", occurrence: 2, in: sidecar.child.stderr))
        #expect(secondRenewal.timeIntervalSince(issued) >= 4, "two renewals of a six-second certificate take more than four seconds")
        #expect(sidecar.child.stderr.components(separatedBy: "workload certificate renewed").count <= 4, "\(sidecar.child.stderr)")
        #expect(sidecar.child.stderr.contains("identity=spiffe://heddle.local/service/api"), "\(sidecar.child.stderr)")
        let directory = sidecar.snapshot + ".identity"
        #expect(try FileManager.default.attributesOfItem(atPath: "\(directory)/key.pem")[.posixPermissions] as? Int == 0o600)
        let verified = try await Self.openssl(["verify", "-CAfile", "\(directory)/bundle.pem", "\(directory)/chain.pem"])
        #expect(verified.status == 0, "\(verified.output)")
        let keyPublic = try await Self.openssl(["pkey", "-in", "\(directory)/key.pem", "-pubout"])
        let certPublic = try await Self.openssl(["x509", "-in", "\(directory)/chain.pem", "-noout", "-pubkey"])
        #expect(keyPublic.output == certPublic.output, "the renewed certificate keeps the proxy's key")
        // Operators can alert on the expiry.
        let metrics = try curl(["http://127.0.0.1:\(sidecar.admin)/metrics"]).output
        let line = metrics.split(separator: "\n").first { $0.hasPrefix("heddle_certificate_expiry_timestamp_seconds ") }
        let expiry = try #require(line.flatMap { Double($0.split(separator: " ")[1]) }, "\(metrics)")
        #expect(expiry > Date().timeIntervalSince1970)
    }

    @Test func aSidecarWithoutATokenSaysItHasNoIdentity() async throws {
        let cp = try await ControlPlaneProcess()
        let api = try await Upstream(.http, name: "api")
        // Mutual TLS is the default: without a way to an identity the sidecar does not start,
        // and says how to give it one.
        let refused = try ChildProcess(
            name: "no-identity-\(UUID().uuidString.prefix(6))", executable: TestSupport.heddleBinary,
            arguments: [
                "proxy", "--control-plane", cp.url, "--service", "api", "--app-port", String(api.port),
                "--outbound", "127.0.0.1:0", "--inbound", "127.0.0.1:0", "--admin", "127.0.0.1:0",
                "--snapshot", "\(TestSupport.scratchDirectory())/no-identity-\(UUID().uuidString.prefix(6)).yaml",
            ])
        #expect(await refused.waitForExit(timeout: .seconds(30)) == 1)
        #expect(refused.stderr.contains("requires mutual TLS") && refused.stderr.contains("heddle token create --service api"), "\(refused.stderr)")
        // A plaintext mesh hop needs no identity, and the sidecar says it has none.
        let sidecar = try await SidecarProcess(controlPlane: cp.url, service: "api", appPort: api.port, extra: ["--inbound-tls", "disabled"])
        _ = try await sidecar.child.waitForOutput { $0.contains("no join token (--join-token): the proxy runs without a workload identity") }
        let forged = try await SidecarProcess(controlPlane: cp.url, service: "api", appPort: api.port, extra: ["--join-token", "hjt1.e30.AAAA"])
        _ = try await forged.child.waitForOutput { $0.contains("could not get a workload certificate") && $0.contains("not issued by this control plane") }
    }

    @Test func withRequireAdminTokenChangesNeedTheTokenFromTheDataDirectory() async throws {
        let cp = try await ControlPlaneProcess(extra: ["--require-admin-token"])
        let token = try String(contentsOfFile: "\(cp.dataDir)/admin-token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let attributes = try FileManager.default.attributesOfItem(atPath: "\(cp.dataDir)/admin-token")
        #expect(token.count == 64 && attributes[.posixPermissions] as? Int == 0o600)
        let service = "apiVersion: heddle.dev/v1alpha1\nkind: Service\nmetadata:\n  name: web\nspec:\n  endpoints: [{address: \"10.0.0.1:80\"}]\n"

        let refused = try await cp.apply(service)
        #expect(refused.status == 1 && refused.output.contains("needs the admin token"), "\(refused.output)")
        let minted = try await cp.cli(["token", "create", "--service", "web"])
        #expect(minted.status == 1 && minted.output.contains("403"), "\(minted.output)")
        let wrong = try await cp.cli(["token", "create", "--service", "web", "--admin-token", "not-it"])
        #expect(wrong.status == 1 && wrong.output.contains("not this control plane's"), "\(wrong.output)")

        let file = "\(TestSupport.scratchDirectory())/admin-\(UUID().uuidString.prefix(6)).yaml"
        try service.write(toFile: file, atomically: true, encoding: .utf8)
        let applied = try await cp.cli(["apply", "-f", file, "--admin-token", token])
        #expect(applied.status == 0, "\(applied.output)")
        #expect(try await cp.cli(["token", "create", "--service", "web", "--admin-token", token]).output.hasPrefix("hjt1."))
        // Reading needs no token.
        #expect(try await cp.cli(["get", "Service"]).output.contains("web"))
    }
}

