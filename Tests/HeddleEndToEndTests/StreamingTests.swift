import Foundation
import Testing

/// Bodies streamed both ways with bounded memory, 100-continue, WebSocket upgrades and opaque TCP.
@Suite(.serialized)
struct StreamingTests {
    /// The proxy's peak resident memory, from /proc.
    static func peakRSSKiB(_ pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }

    @Test func hundredMegabytesEachWayWithBoundedMemory() async throws {
        let app = try await Upstream(.http, name: "bulk")
        let proxy = try await HeddleProxyProcess(config: Config.proxy() + Config.service("bulk", [app.address]))
        let base = "http://127.0.0.1:\(proxy.outbound)"
        let size = 100 * 1024 * 1024
        let file = "\(TestSupport.scratchDirectory())/upload-100m"
        if !FileManager.default.fileExists(atPath: file) {
            let handle = FileManager.default.createFile(atPath: file, contents: nil) ? FileHandle(forWritingAtPath: file) : nil
            let block = Data(repeating: 0x61, count: 1024 * 1024)
            for _ in 0..<100 { handle?.write(block) }
            try handle?.close()
        }
        let before = Self.peakRSSKiB(proxy.child.pid)
        let upload = try curl(["-H", "Host: bulk", "-H", "Transfer-Encoding: chunked", "--data-binary", "@\(file)", "\(base)/count"], timeout: 120)
        #expect(upload.output == "\(size)\n", "upload: \(upload)")
        let download = try curl(["-H", "Host: bulk", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", "\(base)/bytes/\(size)"], timeout: 120)
        #expect(download.output == "200 \(size)")
        let echo = try curl(["-H", "Host: bulk", "--data-binary", "@\(file)", "-o", "/dev/null", "-w", "%{size_download}", "\(base)/echo"], timeout: 120)
        #expect(echo.output == "\(size)")
        let growth = Self.peakRSSKiB(proxy.child.pid) - before
        #expect(growth < 64 * 1024, "proxy peak memory grew by \(growth) KiB while streaming 300 MB")
    }

    @Test func expectContinueIsHonoured() async throws {
        let app = try await Upstream(.http, name: "continue")
        let proxy = try await HeddleProxyProcess(config: Config.proxy() + Config.service("app", [app.address]))
        let (_, body, trace) = try runToFiles(
            TestSupport.which("curl") ?? "/usr/bin/curl",
            ["-sv", "--max-time", "10", "-H", "Host: app", "-H", "Expect: 100-continue", "--data-binary", String(repeating: "z", count: 5000), "http://127.0.0.1:\(proxy.outbound)/count"],
            timeout: 20)
        #expect(body == "5000\n")
        #expect(trace.contains("HTTP/1.1 100 Continue"))
    }

    @Test func webSocketUpgradeIsTunnelled() async throws {
        let app = try await Upstream(.http, name: "ws")
        let proxy = try await HeddleProxyProcess(config: Config.proxy() + Config.service("chat", [app.address]))
        let python = TestSupport.python()
        let client = try ChildProcess(name: "ws-client", executable: python, arguments: ["\(TestSupport.fixtures)/ws_client.py", String(proxy.outbound), "chat"])
        let status = await client.waitForExit(timeout: .seconds(20))
        #expect(status == 0, "\(client.stdout)\(client.stderr)")
        let lines = client.stdout.split(separator: "\n").map(String.init)
        #expect(lines == ["HTTP/1.1 101 Switching Protocols", "echo 12 match", "echo 256 match", "echo 70000 match", "closed"])
    }

    @Test func opaqueTCPByListenerAndByDetection() async throws {
        let echo = try await Upstream(.tcpEcho, name: "echo")
        let config = Config.proxy(gateways: """
            - name: raw
              address: 127.0.0.1:0
              protocol: tcp
              tcpService: echo
            - name: mixed
              address: 127.0.0.1:0
              tcpService: echo
            """) + Config.service("echo", [echo.address], extra: "protocol: tcp")
        let proxy = try await HeddleProxyProcess(config: config, expectListeners: ["outbound", "raw", "mixed", "admin"])
        for listener in ["raw", "mixed"] {
            let connection = try RawConnection(port: proxy.ports[listener] ?? 0)
            let message = "\u{1}\u{2}binary-ish hello through \(listener)\n"
            connection.send(message)
            shutdown(connection.fd, Int32(SHUT_WR))
            #expect(connection.readAll() == message, "\(listener)")
        }
        let metrics = try curl(["http://127.0.0.1:\(proxy.admin)/metrics"]).output
        #expect(metrics.contains("heddle_tcp_connections_total{listener=\"raw\",service=\"echo\"} 1"))
        #expect(metrics.contains("heddle_tcp_bytes_total{listener=\"raw\",service=\"echo\",direction=\"from_client\"}"))
    }
}
