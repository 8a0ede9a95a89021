import Foundation
import Testing

/// The proxy reads and writes its connections with recv/send/sendmsg, not read/write/writev
/// (Sources/CHeddleSocketCalls: the socket calls skip the VFS layer the others go through),
/// seen from outside with strace on the real binary while requests pass through it.
@Suite(.serialized)
struct SocketCallTests {
    @Test func connectionsAreReadAndWrittenWithSocketCalls() async throws {
        let strace = try #require(TestSupport.which("strace"), "strace is missing (scripts/test.sh installs it)")
        let app = try await Upstream(.http, name: "calls")
        let proxy = try await HeddleProxyProcess(config: Config.proxy() + Config.service("app", [app.address]))
        let trace = "\(TestSupport.scratchDirectory())/socket-calls-\(UUID().uuidString.prefix(8)).strace"
        // -yy names each descriptor (`13<TCP:[127.0.0.1:4140->127.0.0.1:51234]>`), so socket
        // calls can be told from file calls. strace starts through Python with its signal mask
        // cleared: a child inherits the mask of the test's thread, which blocks SIGINT, and
        // strace would never see the SIGINT that detaches it.
        let tracer = try ChildProcess(
            name: "strace", executable: TestSupport.python(),
            arguments: ["-c", "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execv(sys.argv[1], sys.argv[1:])",
                        strace, "-f", "-yy", "-e", "trace=read,write,writev,recvfrom,sendto,sendmsg", "-o", trace, "-p", String(proxy.child.pid)])
        _ = try await tracer.waitForOutput { $0.contains("attached") }

        // Keep-alive requests on one connection, and a chunked upload echoed back.
        let base = "http://127.0.0.1:\(proxy.outbound)"
        let gets = try curl(["-H", "Host: app", "-w", "%{http_code}\n", "-o", "/dev/null", "\(base)/hello", "-o", "/dev/null", "\(base)/bytes/100", "-o", "/dev/null", "\(base)/hello"])
        #expect(gets.output == "200\n200\n200\n", "\(gets)")
        let body = String(repeating: "heddle ", count: 40_000)
        let upload = try runToFiles(
            TestSupport.which("curl") ?? "/usr/bin/curl",
            ["-s", "--max-time", "20", "-H", "Host: app", "-H", "Transfer-Encoding: chunked", "--data-binary", "@-", "\(base)/count"],
            timeout: 30, input: body)
        #expect(upload.output == "\(body.utf8.count)\n", "\(upload)")

        // SIGINT detaches strace from the proxy, which runs on; the trace is complete once
        // strace has exited.
        tracer.signal(SIGINT)
        #expect(await tracer.waitForExit(timeout: .seconds(10)) != nil, "strace did not detach")
        let lines = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n")
        func calls(_ name: String) -> [Substring] {
            lines.filter { line in
                guard let open = line.range(of: "\(name)(") else { return false }
                let before = line[..<open.lowerBound]
                return (before.isEmpty || before.last == " ") && line[open.upperBound...].contains("<TCP")
                    && line[open.upperBound...].prefix { $0 != "," }.contains("<TCP")
            }
        }
        #expect(calls("recvfrom").count >= 4, "reads of requests and responses:\n\(lines.prefix(40).joined(separator: "\n"))")
        #expect(calls("sendto").count + calls("sendmsg").count >= 4, "writes of requests and responses:\n\(lines.prefix(40).joined(separator: "\n"))")
        for name in ["read", "write", "writev"] {
            let found = calls(name)
            #expect(found.isEmpty, "\(name) on a TCP socket:\n\(found.prefix(5).joined(separator: "\n"))")
        }
        proxy.stop()
    }
}
