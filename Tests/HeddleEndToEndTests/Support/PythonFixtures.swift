import Foundation

/// A Python test server from `Fixtures/` (`h2_server.py`, `grpc_server.py`, `otlp_receiver.py`)
/// on a port the kernel picked, printed on its first line.
final class FixtureServer: @unchecked Sendable {
    let child: ChildProcess
    let port: Int

    /// `extra`: arguments after the name.
    init(_ script: String, name: String, extra: [String] = []) async throws {
        let python = TestSupport.python()
        var arguments = ["\(TestSupport.fixtures)/\(script)", name] + extra
        if python == "/usr/bin/env" { arguments.insert("python3", at: 0) }
        child = try ChildProcess(name: "\(script)-\(name)-\(UUID().uuidString.prefix(6))", executable: python, arguments: arguments)
        let output = try await child.waitForOutput { $0.contains("\n") }
        guard let port = Int(output.split(separator: "\n")[0].trimmingCharacters(in: .whitespaces)) else {
            throw TestFailure("\(script) did not print its port: \(output)")
        }
        self.port = port
    }

    var address: String { "127.0.0.1:\(port)" }
}

/// Runs a Python test client from `Fixtures/` to completion and returns the JSON objects it
/// printed, one per line.
func runPythonClient(_ script: String, _ arguments: [String], timeout: Duration = .seconds(60)) async throws -> [[String: Any]] {
    let python = TestSupport.python()
    var all = ["\(TestSupport.fixtures)/\(script)"] + arguments
    if python == "/usr/bin/env" { all.insert("python3", at: 0) }
    let client = try ChildProcess(name: "\(script)-\(UUID().uuidString.prefix(6))", executable: python, arguments: all)
    guard let status = await client.waitForExit(timeout: timeout) else {
        client.stop()
        throw TestFailure("\(script) \(arguments) did not finish in \(timeout):\n\(client.stdout)\(client.stderr)")
    }
    guard status == 0 else {
        throw TestFailure("\(script) \(arguments) exited \(status):\n\(client.stdout)\(client.stderr)")
    }
    return try client.stdout.split(separator: "\n").map { line in
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw TestFailure("\(script) printed a line that is not a JSON object: \(line)")
        }
        return object
    }
}

/// The proxy's Prometheus text.
func proxyMetrics(_ proxy: HeddleProxyProcess) throws -> String {
    try curl(["http://127.0.0.1:\(proxy.admin)/metrics"]).output
}

extension RawConnection {
    /// Reads bytes until the peer closes or the read timeout passes.
    func readAllBytes() -> [UInt8] {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &chunk, chunk.count, 0)
            if count <= 0 { break }
            received += chunk[0..<count]
        }
        return received
    }
}
