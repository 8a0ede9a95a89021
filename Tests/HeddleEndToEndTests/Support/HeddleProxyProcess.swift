import Foundation

/// `heddle proxy` started as a real process from a YAML config written to a temporary file;
/// every listener binds port 0 and the ports are read from its log.
final class HeddleProxyProcess: @unchecked Sendable {
    let child: ChildProcess
    let configPath: String
    private(set) var ports: [String: Int] = [:]

    /// `launcher`: a command that runs heddle as its child (`strace -f -o FILE`, say); `child`
    /// is then the launcher's process.
    init(config: String, extraArguments: [String] = ["--random-seed", "42"], expectListeners: [String] = ["outbound", "admin"], launcher: [String] = []) async throws {
        let name = "heddle-\(UUID().uuidString.prefix(8))"
        configPath = "\(TestSupport.scratchDirectory())/\(name).yaml"
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        let command = launcher + [TestSupport.heddleBinary, "proxy", "--config", configPath, "--workers", "1"] + extraArguments
        child = try ChildProcess(name: name, executable: command[0], arguments: Array(command.dropFirst()))
        let output = try await child.waitForOutput { text in
            expectListeners.allSatisfy { text.contains("listener=\($0) ") || text.contains("listener=\($0)\n") || text.contains("listener=\($0) [") }
        }
        for line in output.split(separator: "\n") where line.contains("listening") {
            guard let listener = Self.value(of: "listener", in: line),
                  let address = Self.value(of: "address", in: line),
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
    var admin: Int { ports["admin"] ?? 0 }

    /// Rewrites the config file (the proxy notices within a second, or on SIGHUP).
    func rewriteConfig(_ config: String) throws {
        let temporary = configPath + ".new"
        try config.write(toFile: temporary, atomically: false, encoding: .utf8)
        _ = rename(temporary, configPath)
    }

    func stop() { child.stop() }
}

/// Config text helpers: every listener on port 0.
enum Config {
    static func proxy(_ extra: String = "", inbound: String? = nil, gateways: String? = nil, accessLog: String? = nil, tracing: String? = nil) -> String {
        var spec = """
        apiVersion: heddle.dev/v1alpha1
        kind: Proxy
        metadata:
          name: test
        spec:
          outbound:
            address: 127.0.0.1:0
          admin:
            address: 127.0.0.1:0

        """
        // A proxy run from a file has no workload identity: its inbound listener is plaintext
        // unless the test says otherwise.
        if let inbound { spec += "  inbound:\n" + (inbound.contains("tls:") ? inbound : inbound + "\ntls: disabled").indented(4) + "\n" }
        if let gateways { spec += "  gateways:\n" + gateways.indented(4) + "\n" }
        if let accessLog { spec += "  accessLog:\n" + accessLog.indented(4) + "\n" }
        if let tracing { spec += "  tracing:\n" + tracing.indented(4) + "\n" }
        if !extra.isEmpty { spec += "  http:\n" + extra.indented(4) + "\n" }
        return spec
    }

    static func service(_ name: String, _ addresses: [String], extra: String = "") -> String {
        var text = """
        ---
        apiVersion: heddle.dev/v1alpha1
        kind: Service
        metadata:
          name: \(name)
        spec:
          endpoints:\(addresses.isEmpty ? " []" : "")

        """
        for address in addresses { text += "    - address: \(address)\n" }
        if !extra.isEmpty { text += extra.indented(2) + "\n" }
        return text
    }

    static func route(_ name: String, _ spec: String) -> String {
        """
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          name: \(name)
        spec:
        \(spec.indented(2))

        """
    }
}

extension String {
    func indented(_ spaces: Int) -> String {
        let pad = String(repeating: " ", count: spaces)
        return split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : pad + $0 }.joined(separator: "\n")
    }
}
