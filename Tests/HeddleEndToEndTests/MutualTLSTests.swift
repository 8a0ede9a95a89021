import Foundation
import Testing

/// Mutual TLS between sidecars through the real binary: checked from outside with openssl
/// (the protocol on the wire, a plaintext client, forged client certificates) and curl, not by
/// trusting the configuration.
@Suite(.serialized)
struct MutualTLSTests {
    /// Two sidecars of one control plane: `web` (the caller) and `api` (in front of an app that
    /// echoes request heads).
    struct Mesh {
        let cp: ControlPlaneProcess
        let app: Upstream
        let api: SidecarProcess
        let web: SidecarProcess
    }

    static func mesh(cpExtra: [String] = [], apiExtra: [String] = [], sidecarExtra: [String] = []) async throws -> Mesh {
        let cp = try await ControlPlaneProcess(extra: cpExtra)
        let app = try await Upstream(.http, name: "api")
        var apiExtra = apiExtra
        if apiExtra.contains("--inbound-tls") { apiExtra += ["--join-token", try joinToken(controlPlane: cp.url, service: "api")] }
        let api = try await SidecarProcess(controlPlane: cp.url, service: "api", appPort: app.port, extra: apiExtra + sidecarExtra)
        let webApp = try await Upstream(.http, name: "web")
        let web = try await SidecarProcess(controlPlane: cp.url, service: "web", appPort: webApp.port, extra: sidecarExtra)
        for _ in 0..<100 where try curl(["-H", "Host: api", "http://127.0.0.1:\(web.outbound)/hello"]).output != "hello from api\n" {
            try await Task.sleep(for: .milliseconds(50))
        }
        return Mesh(cp: cp, app: app, api: api, web: web)
    }

    static func openssl(_ arguments: [String], input: String? = nil) throws -> String {
        let result = try runToFiles(TestSupport.which("openssl") ?? "/usr/bin/openssl", arguments, timeout: 20, input: input)
        return result.output + result.errors
    }

    static func metric(_ port: Int, _ name: String) throws -> Double {
        let text = try curl(["http://127.0.0.1:\(port)/metrics"]).output
        return ResilienceTests.value(text, name) ?? 0
    }

    @Test func sidecarsTalkTLS13WithClientCertificatesAndTheAppLearnsItsCaller() async throws {
        let mesh = try await Self.mesh()
        // The app behind api sees who called, and a caller cannot claim another identity.
        let headers = try curl([
            "-H", "Host: api", "-H", "heddle-client-id: spiffe://heddle.local/service/admin", "http://127.0.0.1:\(mesh.web.outbound)/headers",
        ]).output.lowercased()
        #expect(headers.contains("heddle-client-id: spiffe://heddle.local/service/web"), "\(headers)")
        #expect(!headers.contains("service/admin"), "\(headers)")
        // Both sides counted a mutual-TLS handshake.
        #expect(try Self.metric(mesh.web.admin, #"heddle_tls_handshakes_total{side="outbound",result="accepted"}"#) >= 1)
        #expect(try Self.metric(mesh.api.admin, #"heddle_tls_handshakes_total{side="inbound",result="accepted"}"#) >= 1)

        // On the wire, as openssl sees it with web's certificate: TLS 1.3, api's certificate
        // verified against the trust bundle, and a request answered through it.
        let identity = mesh.web.identityDirectory
        let session = try Self.openssl([
            "s_client", "-connect", "127.0.0.1:\(mesh.api.inbound)", "-tls1_3", "-brief", "-ign_eof",
            "-cert", "\(identity)/chain.pem", "-key", "\(identity)/key.pem", "-CAfile", "\(identity)/bundle.pem",
        ], input: "GET /headers HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n")
        #expect(session.contains("Protocol version: TLSv1.3") && session.contains("Verification: OK"), "\(session)")
        #expect(session.lowercased().contains("heddle-client-id: spiffe://heddle.local/service/web"), "\(session)")
        let serverCertificate = try Self.openssl(["s_client", "-connect", "127.0.0.1:\(mesh.api.inbound)", "-showcerts",
            "-cert", "\(identity)/chain.pem", "-key", "\(identity)/key.pem"])
        let pem = serverCertificate.components(separatedBy: "-----BEGIN CERTIFICATE-----").dropFirst().first.map { "-----BEGIN CERTIFICATE-----" + $0.components(separatedBy: "-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n" } ?? ""
        let text = try Self.openssl(["x509", "-noout", "-ext", "subjectAltName"], input: pem)
        #expect(text.contains("URI:spiffe://heddle.local/service/api"), "\(text)")

        // TLS 1.2, no client certificate, plaintext: refused, each logged with its reason.
        let old = try Self.openssl([
            "s_client", "-connect", "127.0.0.1:\(mesh.api.inbound)", "-tls1_2", "-brief",
            "-cert", "\(identity)/chain.pem", "-key", "\(identity)/key.pem",
        ], input: "GET /hello HTTP/1.1\r\nHost: api\r\n\r\n")
        #expect(!old.contains("hello from api") && !old.contains("Protocol version: TLSv1.2"), "\(old)")
        let anonymous = try Self.openssl(["s_client", "-connect", "127.0.0.1:\(mesh.api.inbound)", "-tls1_3", "-brief", "-ign_eof"],
            input: "GET /hello HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n")
        #expect(!anonymous.contains("hello from api"), "\(anonymous)")
        let plaintext = try curl(["-w", "%{http_code}", "http://127.0.0.1:\(mesh.api.inbound)/hello"])
        #expect(!plaintext.output.contains("hello from api"), "\(plaintext)")
        let log = try await mesh.api.child.waitForOutput {
            $0.contains("does not speak TLS 1.3") && $0.contains("sent no client certificate") && $0.contains("did not speak TLS (a plaintext client?)")
        }
        #expect(log.contains("refused a mesh connection"))
        #expect(try Self.metric(mesh.api.admin, #"heddle_tls_handshakes_total{side="inbound",result="refused"}"#) >= 3)
    }

    /// Certificates forged with openssl, presented to api's inbound listener: each is refused,
    /// and api's log names why.
    @Test func forgedClientCertificatesAreRefusedEachWithItsReason() async throws {
        let mesh = try await Self.mesh()
        let forge = try Forge(caDirectory: "\(mesh.cp.dataDir)/identity")
        let cases: [(name: String, certificate: Forge.Leaf, reason: String)] = [
            ("expired", try forge.leaf(uris: ["spiffe://heddle.local/service/web"], start: "20200101000000Z", end: "20200102000000Z"), "expired at"),
            ("another CA", try forge.leaf(uris: ["spiffe://heddle.local/service/web"], signer: forge.otherCA), "not signed by this mesh's certificate authority"),
            ("another trust domain", try forge.leaf(uris: ["spiffe://evil.example/service/web"]), "belongs to trust domain 'evil.example'"),
            ("two URI SANs", try forge.leaf(uris: ["spiffe://heddle.local/service/web", "spiffe://heddle.local/service/admin"]), "has 2 URI SANs"),
            ("a CA certificate", try forge.leaf(uris: ["spiffe://heddle.local/service/web"], isCA: true), "is a CA certificate"),
            ("no SPIFFE ID", try forge.leaf(uris: ["https://web.example/"]), "not a Heddle SPIFFE ID"),
        ]
        for (name, leaf, reason) in cases {
            let session = try Self.openssl([
                "s_client", "-connect", "127.0.0.1:\(mesh.api.inbound)", "-tls1_3", "-brief", "-ign_eof",
                "-cert", leaf.certificate, "-key", leaf.key,
            ], input: "GET /hello HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n")
            #expect(!session.contains("hello from api"), "\(name): \(session)")
            _ = try await mesh.api.child.waitForOutput(timeout: .seconds(10)) { $0.contains(reason) }
        }
        #expect(try Self.metric(mesh.api.admin, #"heddle_tls_handshakes_total{side="inbound",result="refused"}"#) >= Double(cases.count))
        // The mesh's own traffic still flows.
        #expect(try curl(["-H", "Host: api", "http://127.0.0.1:\(mesh.web.outbound)/hello"]).output == "hello from api\n")
    }

    /// An instance registered as `pay` at api's address: api's proxy proves it is api, so web
    /// refuses to send pay's requests to it, with the reason.
    @Test func aPeerThatIsNotTheDestinationServiceIsRefused() async throws {
        let mesh = try await Self.mesh()
        let body = #"{"service":"pay","address":"127.0.0.1","port":\#(mesh.api.inbound),"mutualTLS":true,"leaseSeconds":300}"#
        let registered = try curl(["-w", " %{http_code}", "-H", "Content-Type: application/json", "-d", body, "\(mesh.cp.url)/v1/instances"]).output
        #expect(registered.hasSuffix(" 201"), "\(registered)")
        var answer = ""
        for _ in 0..<100 {
            answer = try curl(["-i", "-H", "Host: pay", "http://127.0.0.1:\(mesh.web.outbound)/hello"]).output
            if !answer.contains("no-route") { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(answer.hasPrefix("HTTP/1.1 502"), "\(answer)")
        #expect(answer.contains("heddle-error: upstream-tls-failed"), "\(answer)")
        #expect(answer.contains("the peer is spiffe://heddle.local/service/api, not spiffe://heddle.local/service/pay"), "\(answer)")
        #expect(!answer.contains("hello from api"))
        _ = try await mesh.web.child.waitForOutput { $0.contains("mutual TLS with a mesh peer failed") }
    }

    @Test func aPermissiveListenerAlsoTakesPlaintextButTrustsNoHeaderFromIt() async throws {
        let mesh = try await Self.mesh(apiExtra: ["--inbound-tls", "permissive"])
        // Mesh callers still come over mutual TLS, with their identity.
        let meshCall = try curl(["-H", "Host: api", "http://127.0.0.1:\(mesh.web.outbound)/headers"]).output.lowercased()
        #expect(meshCall.contains("heddle-client-id: spiffe://heddle.local/service/web"), "\(meshCall)")
        // A plaintext client is served, and cannot pass itself off as anyone.
        let plain = try curl(["-H", "heddle-client-id: spiffe://heddle.local/service/admin", "http://127.0.0.1:\(mesh.api.inbound)/headers"]).output.lowercased()
        #expect(plain.contains("get /headers") && !plain.contains("heddle-client-id"), "\(plain)")
    }

    @Test func certificatesRotatingUnderLoadFailNoRequest() async throws {
        // Certificates live 4 s: each sidecar renews about every 2 s while requests flow.
        let mesh = try await Self.mesh(cpExtra: ["--certificate-lifetime", "4"])
        let summary = try await ResilienceTests.load(mesh.web.outbound, host: "api", seconds: 40, connections: 4, rate: 50, count: 400)
        #expect(summary["total"] as? Int == 400 && summary["exceptions"] as? Int == 0, "\(summary)")
        #expect((summary["statuses"] as? [String: Int]) == ["200": 400], "\(summary)")
        for sidecar in [mesh.api, mesh.web] {
            let renewals = (sidecar.child.stdout + sidecar.child.stderr).components(separatedBy: "workload certificate renewed").count - 1
            #expect(renewals >= 2, "renewals: \(renewals)")
        }
        // New connections after the renewals present the new certificate and are accepted.
        let identity = mesh.web.identityDirectory
        let session = try Self.openssl([
            "s_client", "-connect", "127.0.0.1:\(mesh.api.inbound)", "-tls1_3", "-brief", "-ign_eof",
            "-cert", "\(identity)/chain.pem", "-key", "\(identity)/key.pem", "-CAfile", "\(identity)/bundle.pem",
        ], input: "GET /hello HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n")
        #expect(session.contains("hello from api"), "\(session)")
    }
}

extension MutualTLSTests {
    /// A root rotation, each phase while requests flow: the new root joins the trust bundle,
    /// signs (both sidecars renew under it), and the old root leaves — no request fails, and at
    /// the end only the new root is trusted.
    @Test func theRootRotatesUnderLoadWithNoFailedRequest() async throws {
        let mesh = try await Self.mesh(sidecarExtra: ["--trust-refresh-interval", "1"])
        let identityDirectory = "\(mesh.cp.dataDir)/identity"
        let oldRoot = try String(contentsOfFile: "\(identityDirectory)/ca.pem", encoding: .utf8)
        let forge = try Forge(caDirectory: identityDirectory)
        // A leaf the old root signs, kept to present once that root is gone.
        let oldLeaf = try forge.leaf(uris: ["spiffe://heddle.local/service/web"])

        async let load = ResilienceTests.load(mesh.web.outbound, host: "api", seconds: 60, connections: 4, rate: 40, count: 560)
        try await Task.sleep(for: .seconds(2))
        for phase in ["prepare", "activate", "finish"] {
            let step = try await mesh.cp.cli(["ca", "rotate", phase])
            #expect(step.status == 0, "\(phase): \(step.output)")
            try await Task.sleep(for: .seconds(3))
        }
        let summary = try await load
        #expect(summary["total"] as? Int == 560 && summary["exceptions"] as? Int == 0, "\(summary)")
        #expect((summary["statuses"] as? [String: Int]) == ["200": 560], "\(summary)")

        let status = try await mesh.cp.cli(["ca", "status"])
        #expect(status.output.contains("rotation: steady") && status.output.components(separatedBy: "CN=").count == 3, "one signer, one root: \(status.output)")
        let newRoot = try String(contentsOfFile: "\(identityDirectory)/ca.pem", encoding: .utf8)
        #expect(newRoot != oldRoot)
        let newRootFile = "\(forge.directory)/new-root.pem"
        try newRoot.write(toFile: newRootFile, atomically: true, encoding: .utf8)
        for sidecar in [mesh.api, mesh.web] {
            // Each sidecar renewed under the new root and trusts only it.
            let verified = try Self.openssl(["verify", "-CAfile", newRootFile, "\(sidecar.identityDirectory)/chain.pem"])
            #expect(verified.contains(": OK"), "\(verified)")
            #expect(try String(contentsOfFile: "\(sidecar.identityDirectory)/bundle.pem", encoding: .utf8) == newRoot)
            _ = try await sidecar.child.waitForOutput { $0.contains("renewed under the new signing CA") && $0.contains("trust bundle changed") }
        }
        // A certificate of the old root is refused now; the new one is taken.
        let refused = try Self.openssl([
            "s_client", "-connect", "127.0.0.1:\(mesh.api.inbound)", "-tls1_3", "-brief", "-ign_eof", "-cert", oldLeaf.certificate, "-key", oldLeaf.key,
        ], input: "GET /hello HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n")
        #expect(!refused.contains("hello from api"), "\(refused)")
        _ = try await mesh.api.child.waitForOutput { $0.contains("not signed by this mesh's certificate authority") }
        let identity = mesh.web.identityDirectory
        let accepted = try Self.openssl([
            "s_client", "-connect", "127.0.0.1:\(mesh.api.inbound)", "-tls1_3", "-brief", "-ign_eof",
            "-cert", "\(identity)/chain.pem", "-key", "\(identity)/key.pem", "-CAfile", newRootFile,
        ], input: "GET /hello HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n")
        #expect(accepted.contains("Verification: OK") && accepted.contains("hello from api"), "\(accepted)")

        // Out of order, a phase is refused with the reason.
        let early = try await mesh.cp.cli(["ca", "rotate", "finish"])
        #expect(early.status != 0 && early.output.contains("nothing to finish"), "\(early.output)")
    }
}

extension MutualTLSTests {
    /// A CA of the test's own and an identity directory (`chain.pem`, `key.pem`, `bundle.pem`)
    /// for each SPIFFE ID, for proxies run from a file with `--identity-dir`.
    static func identityDirectories(_ identities: [String]) throws -> [String] {
        let root = "\(TestSupport.scratchDirectory())/static-identity-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        _ = try Forge.openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "\(root)/ca-key.pem",
            "-out", "\(root)/ca.pem", "-subj", "/CN=Test mesh CA", "-days", "2",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
        let forge = try Forge(caDirectory: root)
        return try identities.map { identity in
            let leaf = try forge.leaf(uris: [identity])
            let directory = "\(root)/\(identity.split(separator: "/").last ?? "x")"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: leaf.certificate, toPath: "\(directory)/chain.pem")
            try FileManager.default.copyItem(atPath: leaf.key, toPath: "\(directory)/key.pem")
            try FileManager.default.copyItem(atPath: "\(root)/ca.pem", toPath: "\(directory)/bundle.pem")
            return directory
        }
    }

    /// Opaque TCP between two proxies run from files (`--identity-dir`): the hop is mutual TLS,
    /// and a peer that is not the identity the endpoint names is refused.
    @Test func opaqueTCPCrossesTheMeshHopInMutualTLS() async throws {
        let echo = try await Upstream(.tcpEcho, name: "echo")
        let directories = try Self.identityDirectories(["spiffe://heddle.local/service/db", "spiffe://heddle.local/service/reports"])
        let server = try await HeddleProxyProcess(
            config: Config.proxy(inbound: "address: 127.0.0.1:0\nappAddress: \(echo.address)\nprotocol: tcp\ntls: strict\nservice: db"),
            extraArguments: ["--identity-dir", directories[0]], expectListeners: ["outbound", "inbound", "admin"])
        let inbound = server.ports["inbound"] ?? 0
        func client(expecting identity: String) async throws -> HeddleProxyProcess {
            let config = Config.proxy(gateways: "- name: raw\n  address: 127.0.0.1:0\n  protocol: tcp\n  tcpService: db") + """
                ---
                apiVersion: heddle.dev/v1alpha1
                kind: Service
                metadata:
                  name: db
                spec:
                  protocol: tcp
                  endpoints:
                    - address: 127.0.0.1:\(inbound)
                      identity: \(identity)

                """
            return try await HeddleProxyProcess(config: config, extraArguments: ["--identity-dir", directories[1]], expectListeners: ["outbound", "raw", "admin"])
        }
        let good = try await client(expecting: "spiffe://heddle.local/service/db")
        let connection = try RawConnection(port: good.ports["raw"] ?? 0)
        let message = "\u{1}\u{2}binary through two proxies in mutual TLS\n"
        // Half-closed at once: the server proxy is still verifying the client's certificate
        // when the end of input arrives, and must not lose the bytes or the handshake.
        connection.send(message)
        shutdown(connection.fd, Int32(SHUT_WR))
        #expect(connection.readAll() == message, "\(good.child.stderr)\n---\n\(server.child.stderr)")
        #expect(try Self.metric(good.admin, #"heddle_tls_handshakes_total{side="outbound",result="accepted"}"#) == 1)
        #expect(try Self.metric(server.admin, #"heddle_tls_handshakes_total{side="inbound",result="accepted"}"#) == 1, "\(server.child.stdout)\(server.child.stderr)")

        // The same peer, expected to be another service: refused before a byte reaches it.
        let fooled = try await client(expecting: "spiffe://heddle.local/service/payments")
        let refused = try RawConnection(port: fooled.ports["raw"] ?? 0)
        refused.send("secret\n")
        #expect(refused.readAll() == "")
        _ = try await fooled.child.waitForOutput {
            $0.contains("mutual TLS with a mesh peer failed") && $0.contains("the peer is spiffe://heddle.local/service/db, not spiffe://heddle.local/service/payments")
        }
    }
}

/// Forges certificates with openssl: leaves signed by the control plane's CA (or another one),
/// with the dates, names and constraints a test asks for.
struct Forge {
    struct Leaf {
        let certificate: String
        let key: String
    }

    let directory: String
    let caCertificate: String
    let caKey: String
    let otherCA: (certificate: String, key: String)

    init(caDirectory: String) throws {
        directory = "\(TestSupport.scratchDirectory())/forge-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        caCertificate = "\(caDirectory)/ca.pem"
        caKey = "\(caDirectory)/ca-key.pem"
        let other = (certificate: "\(directory)/other-ca.pem", key: "\(directory)/other-ca-key.pem")
        _ = try Self.openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", other.key,
            "-out", other.certificate, "-subj", "/CN=another CA", "-days", "30",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
        otherCA = other
        try "".write(toFile: "\(directory)/index.txt", atomically: true, encoding: .utf8)
        try "1000\n".write(toFile: "\(directory)/serial", atomically: true, encoding: .utf8)
        try """
            [ca]
            default_ca = forge
            [forge]
            database = \(directory)/index.txt
            new_certs_dir = \(directory)
            serial = \(directory)/serial
            default_md = sha256
            policy = anything
            unique_subject = no
            copy_extensions = none
            [anything]
            commonName = optional
            """.write(toFile: "\(directory)/ca.cnf", atomically: true, encoding: .utf8)
    }

    static func openssl(_ arguments: [String]) throws -> String {
        let result = try runToFiles(TestSupport.which("openssl") ?? "/usr/bin/openssl", arguments, timeout: 20)
        guard result.status == 0 else { throw TestFailure("openssl \(arguments.prefix(2)) failed: \(result.output)\(result.errors)") }
        return result.output
    }

    /// A leaf for a fresh key, naming `uris`, signed by the mesh's CA unless `signer` is given,
    /// valid from `start` to `end` (openssl's YYYYMMDDHHMMSSZ; default: now for a day).
    func leaf(uris: [String], signer: (certificate: String, key: String)? = nil, isCA: Bool = false, start: String? = nil, end: String? = nil) throws -> Leaf {
        let name = "leaf-\(UUID().uuidString.prefix(8))"
        let key = "\(directory)/\(name)-key.pem"
        let request = "\(directory)/\(name).csr"
        let certificate = "\(directory)/\(name).pem"
        _ = try Self.openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-subj", "/CN=forged", "-out", request])
        let extensions = "\(directory)/\(name).ext"
        try """
            [leaf]
            basicConstraints = critical,\(isCA ? "CA:TRUE" : "CA:FALSE")
            keyUsage = critical,digitalSignature\(isCA ? ",keyCertSign" : "")
            extendedKeyUsage = serverAuth,clientAuth
            subjectAltName = \(uris.map { "URI:\($0)" }.joined(separator: ","))
            """.write(toFile: extensions, atomically: true, encoding: .utf8)
        let signer = signer ?? (caCertificate, caKey)
        var arguments = [
            "ca", "-batch", "-notext", "-config", "\(directory)/ca.cnf", "-cert", signer.certificate, "-keyfile", signer.key,
            "-in", request, "-out", certificate, "-extfile", extensions, "-extensions", "leaf",
        ]
        if let start, let end {
            arguments += ["-startdate", start, "-enddate", end]
        } else {
            arguments += ["-days", "1"]
        }
        _ = try Self.openssl(arguments)
        return Leaf(certificate: certificate, key: key)
    }
}
