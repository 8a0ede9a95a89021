import Foundation
import Synchronization

/// A child process started by a test, killed when the test ends (`stop()` or deinit), with its
/// output captured in files so a failing test can show it.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    let stdoutPath: String
    let stderrPath: String
    let name: String

    init(name: String, executable: String, arguments: [String], environment: [String: String] = [:]) throws {
        self.name = name
        let directory = TestSupport.scratchDirectory()
        stdoutPath = "\(directory)/\(name).out"
        stderrPath = "\(directory)/\(name).err"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        let errors = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        process.standardOutput = output
        process.standardError = errors
        // The child has its own copies once it runs; this side's are closed at once. Kept open
        // (every child stays registered until the run ends), they piled up past a thousand
        // descriptors, and Foundation's Process.run() crashed the test process copying them.
        defer {
            try? output.close()
            try? errors.close()
        }
        try process.run()
        missedExit = MissedExit(pid: process.processIdentifier)
        TestSupport.register(self)
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning && missedExit.status() == nil }

    /// The exit status, once the process has exited.
    var exitStatus: Int32 { missedExit.status() ?? process.terminationStatus }

    private let missedExit: MissedExit

    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Waits for the process to exit, up to `timeout`; returns its exit status, or nil.
    func waitForExit(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return isRunning ? nil : exitStatus
    }

    func stop() {
        if isRunning {
            kill(process.processIdentifier, SIGKILL)
            // Bounded, not `waitUntilExit()`: Foundation on Linux can miss an exit when many
            // children end at once, and a test must never hang on it.
            let deadline = ContinuousClock.now + .seconds(5)
            while isRunning, ContinuousClock.now < deadline {
                usleep(5_000)
            }
        }
    }

    /// Polls the captured output until `predicate` holds.
    func waitForOutput(timeout: Duration = .seconds(20), _ predicate: (String) -> Bool) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = stdout + stderr
            if predicate(text) { return text }
            if !isRunning {
                throw TestFailure("\(name) exited (status \(exitStatus)) before it was ready:\n\(text)")
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw TestFailure("\(name) not ready after \(timeout):\n\(stdout + stderr)")
    }

    deinit {
        stop()
    }
}

/// Foundation on Linux can miss a child's exit when many children end at once: the child stays
/// a zombie and `Process.isRunning` stays true forever. A child that has been a zombie for a
/// second (Foundation reaps within milliseconds when it notices) is reaped here instead.
final class MissedExit: Sendable {
    let pid: Int32
    /// When the child was first seen a zombie, and its status once reaped here.
    private let state = Mutex<(since: ContinuousClock.Instant?, status: Int32?)>((nil, nil))

    init(pid: Int32) {
        self.pid = pid
    }

    /// The exit status when the child exited unnoticed and was reaped here; nil otherwise.
    func status() -> Int32? {
        let pid = pid
        return state.withLock { state in
            if let status = state.status { return status }
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")"), stat.index(close, offsetBy: 2) < stat.endIndex,
                  stat[stat.index(close, offsetBy: 2)] == "Z"
            else {
                state.since = nil
                return nil
            }
            let now = ContinuousClock.now
            guard let since = state.since else {
                state.since = now
                return nil
            }
            guard now - since > .seconds(1) else { return nil }
            var status: Int32 = 0
            guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
            // As Foundation reports it: the exit code, or the signal that ended the process.
            state.status = status & 0x7F == 0 ? (status >> 8) & 0xFF : status & 0x7F
            return state.status
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Paths and process bookkeeping shared by the end-to-end tests.
enum TestSupport {
    nonisolated(unsafe) private static var children: [ChildProcess] = []
    private static let lock = NSLock()

    static func register(_ child: ChildProcess) {
        lock.lock()
        defer { lock.unlock() }
        if children.isEmpty {
            atexit {
                TestSupport.killAll()
                // Upload files of up to 100 MB live here: leave nothing behind.
                try? FileManager.default.removeItem(atPath: TestSupport.scratchDirectory())
            }
        }
        children.append(child)
    }

    static func killAll() {
        lock.lock()
        let all = children
        lock.unlock()
        for child in all { child.stop() }
    }

    /// The package root, found from this file's path.
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The `heddle` binary built beside the test bundle (or `HEDDLE_BINARY`).
    static let heddleBinary: String = {
        if let override = ProcessInfo.processInfo.environment["HEDDLE_BINARY"] { return override }
        let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [bundleDirectory, bundleDirectory.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("heddle").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return "\(packageRoot)/.build/debug/heddle"
    }()

    static let fixtures = "\(packageRoot)/Tests/HeddleEndToEndTests/Fixtures"

    static func scratchDirectory() -> String {
        let path = NSTemporaryDirectory() + "heddle-e2e-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func which(_ tool: String) -> String? {
        for directory in ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
            let path = "\(directory)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    static func python() -> String {
        if let path = ProcessInfo.processInfo.environment["PYTHON"] { return path }
        for candidate in ["/root/.pyenv/shims/python3", "/usr/local/bin/python3", "/usr/bin/python3"] where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return "/usr/bin/env"
    }
}

extension TestSupport {
    /// A port that was free a moment ago (bound to port 0, then closed), for an app that must
    /// be told its port up front.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw TestFailure("cannot bind a port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
