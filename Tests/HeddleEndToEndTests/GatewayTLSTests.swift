import Foundation
import Testing

/// A gateway listener terminating TLS for clients outside the mesh, with the operator's
/// certificates chosen by SNI; checked with curl and openssl against a CA the test makes.
@Suite(.serialized)
struct GatewayTLSTests {
    /// A CA and, for each name list, a leaf it signs (PEM files in a scratch directory).
    struct Certificates {
        let directory: String
        var ca: String { "\(directory)/ca.pem" }

        init(leaves: [String: [String]]) throws {
            directory = "\(TestSupport.scratchDirectory())/gateway-tls-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            _ = try Forge.openssl([
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "\(directory)/ca-key.pem",
                "-out", "\(directory)/ca.pem", "-subj", "/CN=Test edge CA", "-days", "2",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ])
            for (name, hosts) in leaves {
                _ = try Forge.openssl([
                    "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "\(directory)/\(name)-key.pem",
                    "-subj", "/CN=\(hosts[0])", "-out", "\(directory)/\(name).csr",
                ])
                try "subjectAltName = \(hosts.map { "DNS:\($0)" }.joined(separator: ","))\n".write(toFile: "\(directory)/\(name).ext", atomically: true, encoding: .utf8)
                _ = try Forge.openssl([
                    "x509", "-req", "-in", "\(directory)/\(name).csr", "-CA", "\(directory)/ca.pem", "-CAkey", "\(directory)/ca-key.pem",
                    "-CAcreateserial", "-days", "1", "-extfile", "\(directory)/\(name).ext", "-out", "\(directory)/\(name).pem",
                ])
            }
        }

        func certificate(_ name: String) -> String { "\(directory)/\(name).pem" }
        func key(_ name: String) -> String { "\(directory)/\(name)-key.pem" }
    }

    @Test func aGatewayTerminatesTLSWithTheCertificateTheClientNames() async throws {
        let shop = try await Upstream(.http, name: "shop")
        let api = try await Upstream(.http, name: "api")
        let certificates = try Certificates(leaves: ["shop": ["shop.example"], "api": ["*.api.example", "api.example"]])
        let config = Config.proxy(gateways: """
            - name: edge
              address: 127.0.0.1:0
              tls:
                certificates:
                  - hosts: [shop.example]
                    certificate: \(certificates.certificate("shop"))
                    privateKey: \(certificates.key("shop"))
                  - hosts: ["*.api.example", api.example]
                    certificate: \(certificates.certificate("api"))
                    privateKey: \(certificates.key("api"))
            """) + Config.service("shop", [shop.address]) + Config.service("api", [api.address])
            + Config.route("shop", "parentRefs: [{name: edge}]\nhostnames: [shop.example]\nrules:\n  - backendRefs: [{name: shop}]")
            + Config.route("api", "parentRefs: [{name: edge}]\nhostnames: [v1.api.example, api.example]\nrules:\n  - backendRefs: [{name: api}]")
        let proxy = try await HeddleProxyProcess(config: config, expectListeners: ["outbound", "edge", "admin"])
        let port = proxy.ports["edge"] ?? 0

        // Each name gets its own certificate, verified by curl against the CA, over HTTP/1.1 and
        // HTTP/2 (ALPN).
        for (host, served) in [("shop.example", "hello from shop"), ("v1.api.example", "hello from api"), ("api.example", "hello from api")] {
            for version in ["--http1.1", "--http2"] {
                let answer = try curl([version, "--cacert", certificates.ca, "--resolve", "\(host):\(port):127.0.0.1", "-w", " %{http_version}", "https://\(host):\(port)/hello"])
                #expect(answer.status == 0 && answer.output.hasPrefix(served), "\(host) \(version): \(answer)")
                #expect(answer.output.hasSuffix(version == "--http2" ? " 2" : " 1.1"), "\(host) \(version): \(answer)")
            }
        }
        let subjects = try runToFiles(TestSupport.which("openssl") ?? "/usr/bin/openssl", [
            "s_client", "-connect", "127.0.0.1:\(port)", "-servername", "v1.api.example", "-CAfile", certificates.ca, "-brief",
        ], timeout: 20)
        #expect((subjects.output + subjects.errors).contains("CN = *.api.example") && (subjects.output + subjects.errors).contains("Verification: OK"), "\(subjects)")
        // A client that names no host gets the first certificate; plaintext is refused.
        let unnamed = try runToFiles(TestSupport.which("openssl") ?? "/usr/bin/openssl", ["s_client", "-connect", "127.0.0.1:\(port)", "-noservername", "-brief"], timeout: 20)
        #expect((unnamed.output + unnamed.errors).contains("CN = shop.example"), "\(unnamed)")
        let plaintext = try curl(["http://127.0.0.1:\(port)/hello"])
        #expect(!plaintext.output.contains("hello from"), "\(plaintext)")
        _ = try await proxy.child.waitForOutput { $0.contains("TLS handshake with a client failed") && $0.contains("did not speak TLS") }
    }

    @Test func aKeyThatIsNotTheCertificatesIsRefusedAtStartNamingTheFiles() async throws {
        let certificates = try Certificates(leaves: ["shop": ["shop.example"], "api": ["api.example"]])
        let config = Config.proxy(gateways: """
            - name: edge
              address: 127.0.0.1:0
              tls:
                certificates:
                  - hosts: [shop.example]
                    certificate: \(certificates.certificate("shop"))
                    privateKey: \(certificates.key("api"))
            """)
        let file = "\(certificates.directory)/heddle.yaml"
        try config.write(toFile: file, atomically: true, encoding: .utf8)
        let run = try ChildProcess(name: "bad-key", executable: TestSupport.heddleBinary, arguments: ["proxy", "--config", file])
        #expect(await run.waitForExit(timeout: .seconds(30)) == 1)
        let output = run.stdout + run.stderr
        #expect(output.contains("listener edge: the private key \(certificates.key("api")) does not belong to \(certificates.certificate("shop"))"), "\(output)")
    }
}
