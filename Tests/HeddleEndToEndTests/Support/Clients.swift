import Foundation

/// Runs curl (the real client) and returns its stdout; `-s` is always on.
@discardableResult
func curl(_ arguments: [String], timeout: Int = 30) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: TestSupport.which("curl") ?? "/usr/bin/curl")
    process.arguments = ["-s", "--max-time", String(timeout)] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    // Not `waitUntilExit()`: with many children exiting at once, Foundation on Linux can miss
    // one's exit and wait for ever (seen in CI, hanging the whole run). Curl has closed its
    // output by now; its exit is a moment away, and a bounded wait is enough.
    let deadline = ContinuousClock.now + .seconds(10)
    while process.isRunning, ContinuousClock.now < deadline {
        usleep(5_000)
    }
    let status = process.isRunning ? -1 : process.terminationStatus
    return (status, String(decoding: data, as: UTF8.self))
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
