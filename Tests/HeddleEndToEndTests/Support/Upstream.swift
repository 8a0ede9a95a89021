import Foundation

/// A test upstream (`Fixtures/upstream.py`): a real HTTP/1.1 server or TCP echo server on a
/// port the kernel picked.
final class Upstream: @unchecked Sendable {
    let child: ChildProcess
    let port: Int

    enum Mode: String {
        case http
        case tcpEcho = "tcp-echo"
        case backlog
    }

    init(_ mode: Mode, name: String = "upstream") async throws {
        let python = TestSupport.python()
        var arguments = ["\(TestSupport.fixtures)/upstream.py", mode.rawValue, name]
        if python == "/usr/bin/env" { arguments.insert("python3", at: 0) }
        child = try ChildProcess(name: "upstream-\(name)-\(UUID().uuidString.prefix(6))", executable: python, arguments: arguments)
        let output = try await child.waitForOutput { $0.contains("\n") }
        guard let port = Int(output.split(separator: "\n")[0].trimmingCharacters(in: .whitespaces)) else {
            throw TestFailure("upstream did not print its port: \(output)")
        }
        self.port = port
    }

    var address: String { "127.0.0.1:\(port)" }
}
