import Foundation

/// `heddle control-plane` as a real process, on port 0 with a data directory of its own (kept
/// when the process is restarted on it).
final class ControlPlaneProcess: @unchecked Sendable {
    let child: ChildProcess
    let dataDir: String
    let host: String
    let port: Int

    /// `address`: `127.0.0.1:0` picks a free port; a restarted control plane can take the
    /// port of the one it replaces. `namespace`: runs inside it (give `address` its inner
    /// address).
    init(dataDir: String? = nil, address: String = "127.0.0.1:0", namespace: NetworkNamespace? = nil, extra: [String] = []) async throws {
        let directory = dataDir ?? "\(TestSupport.scratchDirectory())/cp-\(UUID().uuidString.prefix(8))"
        self.dataDir = directory
        let arguments = ["control-plane", "--data-dir", directory, "--address", address] + extra
        let command = namespace?.command(TestSupport.heddleBinary, arguments) ?? (executable: TestSupport.heddleBinary, arguments: arguments)
        child = try ChildProcess(name: "control-plane-\(UUID().uuidString.prefix(6))", executable: command.executable, arguments: command.arguments)
        let output = try await child.waitForOutput { $0.contains("listener=api") }
        host = String(address.split(separator: ":").first ?? "127.0.0.1")
        guard let line = output.split(separator: "\n").first(where: { $0.contains("listener=api") }),
              let range = line.range(of: "address=\(host):"),
              let port = Int(line[range.upperBound...].prefix { $0.isNumber })
        else { throw TestFailure("the control plane did not log its address:\n\(output)") }
        self.port = port
    }

    var url: String { "http://\(host):\(port)" }

    /// Runs `heddle ARGUMENTS --control-plane URL` (the CLI) to completion.
    func cli(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let run = try ChildProcess(name: "cli-\(UUID().uuidString.prefix(6))", executable: TestSupport.heddleBinary, arguments: arguments + ["--control-plane", url])
        guard let status = await run.waitForExit(timeout: .seconds(30)) else {
            run.stop()
            throw TestFailure("heddle \(arguments) did not finish")
        }
        return (status, run.stdout + run.stderr)
    }

    /// Applies YAML text with the CLI.
    func apply(_ yaml: String) async throws -> (status: Int32, output: String) {
        let file = "\(TestSupport.scratchDirectory())/apply-\(UUID().uuidString.prefix(8)).yaml"
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        return try await cli(["apply", "-f", file])
    }
}

/// A join token for one proxy of `service`, from the control plane's API.
func joinToken(controlPlane: String, service: String) throws -> String {
    let answer = try curl(["-X", "POST", "-H", "Content-Type: application/json", "-d", #"{"service":"\#(service)"}"#, "\(controlPlane)/v1/tokens"]).output
    guard let data = answer.data(using: .utf8),
          let token = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["token"] as? String
    else { throw TestFailure("no join token for \(service): \(answer)") }
    return token
}

/// `heddle proxy` in sidecar mode in front of an app, every listener on port 0. Unless `extra`
/// gives a join token or an inbound TLS mode, the sidecar joins with a token from the control
/// plane (the mesh's default: mutual TLS).
final class SidecarProcess: @unchecked Sendable {
    let child: ChildProcess
    let snapshot: String
    private(set) var ports: [String: Int] = [:]

    init(controlPlane: String, service: String, appPort: Int, appProtocol: String = "http1", snapshot: String? = nil, extra: [String] = [], waitForConfig: Bool = true) async throws {
        self.snapshot = snapshot ?? "\(TestSupport.scratchDirectory())/sidecar-\(service)-\(UUID().uuidString.prefix(6)).yaml"
        var extra = extra
        // A sidecar restarted on its snapshot keeps its certificate beside it.
        let keepsIdentity = FileManager.default.fileExists(atPath: "\(self.snapshot).identity/chain.pem")
        if !extra.contains("--join-token"), !extra.contains("--inbound-tls"), !keepsIdentity {
            extra += ["--join-token", try joinToken(controlPlane: controlPlane, service: service)]
        }
        child = try ChildProcess(
            name: "sidecar-\(service)-\(UUID().uuidString.prefix(6))", executable: TestSupport.heddleBinary,
            arguments: [
                "proxy", "--control-plane", controlPlane, "--service", service, "--app-port", String(appPort), "--app-protocol", appProtocol,
                "--outbound", "127.0.0.1:0", "--inbound", "127.0.0.1:0", "--admin", "127.0.0.1:0",
                "--snapshot", self.snapshot, "--workers", "1", "--lease-seconds", "1",
            ] + extra)
        let output = try await child.waitForOutput { text in
            ["outbound", "inbound", "admin"].allSatisfy { text.contains("listener=\($0) ") || text.contains("listener=\($0)\n") }
                && (!waitForConfig || text.contains("[HeddleSidecar] configuration applied"))
        }
        for line in output.split(separator: "\n") where line.contains("listening") {
            guard let listener = Self.value(of: "listener", in: line), let address = Self.value(of: "address", in: line),
                  let port = address.split(separator: ":").last.flatMap({ Int($0) })
            else { continue }
            ports[listener] = port
        }
    }

    private static func value(of key: String, in line: Substring) -> String? {
        guard let range = line.range(of: "\(key)=") else { return nil }
        return String(line[range.upperBound...].prefix { $0 != " " })
    }

    var outbound: Int { ports["outbound"] ?? 0 }
    var inbound: Int { ports["inbound"] ?? 0 }
    /// Where the sidecar keeps its workload key, chain and trust bundle.
    var identityDirectory: String { snapshot + ".identity" }
    var admin: Int { ports["admin"] ?? 0 }
}

/// Sidecars for `api` and `web`, each beside a test upstream, and a declared service `quiet`
/// without endpoints (nor traffic): the mesh `heddle top` and the dashboard are tested on.
struct WebAPIMesh {
    let apiApp: Upstream
    let webApp: Upstream
    let api: SidecarProcess
    let web: SidecarProcess

    init(controlPlane cp: ControlPlaneProcess) async throws {
        apiApp = try await Upstream(.http, name: "api")
        webApp = try await Upstream(.http, name: "web")
        api = try await SidecarProcess(controlPlane: cp.url, service: "api", appPort: apiApp.port)
        web = try await SidecarProcess(controlPlane: cp.url, service: "web", appPort: webApp.port)
        let declared = try await cp.apply("""
            apiVersion: heddle.dev/v1alpha1
            kind: Service
            metadata: {name: quiet}
            spec: {endpoints: []}
            """)
        guard declared.status == 0 else { throw TestFailure("applying the quiet service failed: \(declared.output)") }
    }
}
