import Foundation
import HeddleControlPlane
import Synchronization
import Testing

/// A one-member etcd (Debian's `etcd-server`) for a test: its own data directory (in memory,
/// on /dev/shm when there is one: etcd fsyncs every write, and a dozen of them on one disk slow
/// the whole suite) and free loopback ports, killed and removed when the test is done. At most
/// three run at once.
final class EtcdServer: @unchecked Sendable {
    private static let slots = TestSlots(3)

    let process = Process()
    let directory: String
    let clientURL: String

    /// Starts etcd and waits until it serves; tries other ports if the ones picked were taken
    /// in between.
    static func start(_ extraArguments: [String] = []) async throws -> EtcdServer {
        await slots.acquire()
        var lastError: any Error = TestError("etcd did not start")
        for _ in 0..<3 {
            do {
                return try await EtcdServer(extraArguments)
            } catch {
                lastError = error
            }
        }
        await slots.release()
        throw lastError
    }

    private let released = Mutex(false)

    private init(_ extraArguments: [String]) async throws {
        guard let etcd = ["/usr/bin/etcd", "/usr/local/bin/etcd"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw TestError("etcd is not installed: apt-get install etcd-server (scripts/test.sh does)")
        }
        let base = FileManager.default.isWritableFile(atPath: "/dev/shm") ? "/dev/shm" : FileManager.default.temporaryDirectory.path
        directory = "\(base)/heddle-etcd-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let client = try Self.freePort()
        let peer = try Self.freePort()
        clientURL = "http://127.0.0.1:\(client)"
        process.executableURL = URL(fileURLWithPath: etcd)
        process.arguments = [
            "--name", "test", "--data-dir", "\(directory)/data",
            "--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
            "--listen-peer-urls", "http://127.0.0.1:\(peer)", "--initial-advertise-peer-urls", "http://127.0.0.1:\(peer)",
            "--initial-cluster", "test=http://127.0.0.1:\(peer)", "--log-level", "error",
        ] + extraArguments
        let log = "\(directory)/etcd.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                try? FileManager.default.removeItem(atPath: directory)
                throw TestError("etcd exited: \(output.suffix(1000))")
            }
            if await Self.serves(clientURL) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        kill(process.processIdentifier, SIGKILL)
        try? FileManager.default.removeItem(atPath: directory)
        throw TestError("etcd did not serve within 20 s")
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            let deadline = ContinuousClock.now + .seconds(5)
            while process.isRunning, ContinuousClock.now < deadline { usleep(5_000) }
        }
        try? FileManager.default.removeItem(atPath: directory)
        let first = released.withLock { released in
            defer { released = true }
            return !released
        }
        if first { Task { await Self.slots.release() } }
    }

    deinit { stop() }

    private static func serves(_ url: String) async -> Bool {
        (try? await EtcdStore(endpoints: [url], timeout: .seconds(1)).currentRevision()) != nil
    }

    /// A port the kernel had free a moment ago (etcd needs its ports named up front).
    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestError("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0 else { throw TestError("bind() failed") }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

struct TestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A counting semaphore for tests: `acquire` waits while `count` holders are in.
actor TestSlots {
    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(_ count: Int) {
        free = count
    }

    func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty {
            free += 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}
