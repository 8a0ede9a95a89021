import Foundation

/// Runs curl (the real client) and returns its stdout; `-s` is always on.
///
/// Its output goes to a file, not a pipe: a pipe's write end can leak into another child that
/// a parallel test spawns at that moment, and a read to end of file then waits for that child
/// to exit (a whole CI run hung on it). Nor `waitUntilExit()`: with many children exiting at
/// once, Foundation on Linux can miss one's exit. The wait is bounded instead.
@discardableResult
func curl(_ arguments: [String], timeout: Int = 30) throws -> (status: Int32, output: String) {
    let result = try runToFiles(TestSupport.which("curl") ?? "/usr/bin/curl", ["-s", "--max-time", String(timeout)] + arguments, timeout: timeout + 10)
    return (result.status, result.output)
}

/// Runs a short-lived tool with its output and errors in files; its status (-1 when it did not
/// end within `timeout` seconds, and is killed), output and error output.
/// `input`: what the tool reads on its standard input (else nothing: /dev/null).
func runToFiles(_ executable: String, _ arguments: [String], timeout: Int, input: String? = nil) throws -> (status: Int32, output: String, errors: String) {
    let base = "\(TestSupport.scratchDirectory())/run-\(UUID().uuidString)"
    _ = FileManager.default.createFile(atPath: base + ".out", contents: nil)
    _ = FileManager.default.createFile(atPath: base + ".err", contents: nil)
    _ = FileManager.default.createFile(atPath: base + ".in", contents: Data((input ?? "").utf8))
    defer {
        try? FileManager.default.removeItem(atPath: base + ".out")
        try? FileManager.default.removeItem(atPath: base + ".err")
        try? FileManager.default.removeItem(atPath: base + ".in")
    }
    let standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: base + ".in"))
    defer { try? standardInput.close() }
    let output = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".out"))
    let errors = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".err"))
    defer {
        try? output.close()
        try? errors.close()
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardOutput = output
    process.standardError = errors
    process.standardInput = standardInput
    try process.run()
    let missedExit = MissedExit(pid: process.processIdentifier)
    let deadline = ContinuousClock.now + .seconds(timeout)
    while process.isRunning, missedExit.status() == nil, ContinuousClock.now < deadline {
        usleep(5_000)
    }
    if let status = missedExit.status() {
        let read = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        return (status, read(base + ".out"), read(base + ".err"))
    }
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    let status = process.isRunning ? -1 : process.terminationStatus
    let read = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
    return (status, read(base + ".out"), read(base + ".err"))
}

/// A response as read off a raw socket.
struct RawResponse {
    var raw: String
    var status: Int
    var headers: [String: String]
    var body: String
    /// Whether the server closed the connection after the response.
    var closed: Bool
}

/// A blocking TCP client for sending exact bytes (malformed requests, pipelining).
final class RawConnection {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw TestFailure("cannot connect to 127.0.0.1:\(port)") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ text: String) {
        send(Array(text.utf8))
    }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { return }
            offset += written
        }
    }

    /// Reads until the peer closes or the timeout passes.
    func readAll() -> String {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &chunk, chunk.count, 0)
            if count <= 0 { break }
            received += chunk[0..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// Bytes received after the last response read, kept for the next one (pipelining).
    private var leftover: [UInt8] = []

    /// Reads one response with a Content-Length body (or none), then checks whether the
    /// connection closed.
    func readResponse(checkClosed: Bool = true) throws -> RawResponse {
        var received = leftover
        leftover = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        func headEnd() -> Int? {
            guard received.count >= 4 else { return nil }
            for index in 0...(received.count - 4) where received[index] == 13 && received[index + 1] == 10 && received[index + 2] == 13 && received[index + 3] == 10 {
                return index + 4
            }
            return nil
        }
        while headEnd() == nil {
            let count = recv(fd, &chunk, chunk.count, 0)
            if count <= 0 { throw TestFailure("connection ended before a response head: \(String(decoding: received, as: UTF8.self))") }
            received += chunk[0..<count]
        }
        let bodyStart = headEnd()!
        let head = Self.parse(String(decoding: received[..<bodyStart], as: UTF8.self))
        let length = Int(head.headers["content-length"] ?? "0") ?? 0
        while received.count < bodyStart + length {
            let count = recv(fd, &chunk, chunk.count, 0)
            if count <= 0 { break }
            received += chunk[0..<count]
        }
        let end = min(received.count, bodyStart + length)
        leftover = Array(received[end...])
        var response = head
        response.body = String(decoding: received[bodyStart..<end], as: UTF8.self)
        response.raw = String(decoding: received[..<end], as: UTF8.self)
        guard checkClosed else { return response }
        var probe = timeval(tv_sec: 0, tv_usec: 300_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &probe, socklen_t(MemoryLayout<timeval>.size))
        let more = recv(fd, &chunk, 1, Int32(MSG_PEEK))
        response.closed = more == 0 || (more < 0 && errno == ECONNRESET)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return response
    }

    static func parse(_ text: String) -> RawResponse {
        let parts = text.components(separatedBy: "\r\n\r\n")
        let head = parts[0].components(separatedBy: "\r\n")
        let status = head.first.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return RawResponse(raw: text, status: status, headers: headers, body: parts.dropFirst().joined(separator: "\r\n\r\n"), closed: false)
    }
}
