import Foundation
import Testing

/// The proxy reads and writes its connections with recv/send/sendmsg, not read/write/writev
/// (Sources/CHeddleSocketCalls: the socket calls skip the VFS layer the others go through),
/// seen from outside with strace on the real binary while requests pass through it.
/// scripts/test.sh runs this suite a second time against the release build.
@Suite(.serialized)
struct SocketCallTests {
    @Test func connectionsAreReadAndWrittenWithSocketCalls() async throws {
        let strace = try #require(TestSupport.which("strace"), "strace is missing (scripts/test.sh installs it)")
        let app = try await Upstream(.http, name: "calls")
        let trace = "\(TestSupport.scratchDirectory())/socket-calls-\(UUID().uuidString.prefix(8)).strace"
        // heddle runs as strace's child (tracing a child needs no privilege, where attaching
        // to another process may); -yy names each descriptor (`13<TCP:[127.0.0.1:4140->...]>`),
        // so socket calls can be told from file calls.
        let proxy = try await HeddleProxyProcess(
            config: Config.proxy() + Config.service("app", [app.address]),
            launcher: [strace, "-f", "-yy", "-e", "trace=read,write,writev,recvfrom,sendto,sendmsg", "-o", trace])

        // Keep-alive requests on one connection, and a chunked upload that the proxy forwards
        // with a gathering write.
        let base = "http://127.0.0.1:\(proxy.outbound)"
        let gets = try curl(["-H", "Host: app", "-w", "%{http_code}\n", "-o", "/dev/null", "\(base)/hello", "-o", "/dev/null", "\(base)/bytes/100", "-o", "/dev/null", "\(base)/hello"])
        #expect(gets.output == "200\n200\n200\n", "\(gets)")
        let body = String(repeating: "heddle ", count: 40_000)
        let upload = try runToFiles(
            TestSupport.which("curl") ?? "/usr/bin/curl",
            ["-s", "--max-time", "20", "-H", "Host: app", "-H", "Transfer-Encoding: chunked", "--data-binary", "@-", "\(base)/count"],
            timeout: 30, input: body)
        #expect(upload.output == "\(body.utf8.count)\n", "\(upload)")

        // strace ends, its trace written out, once the proxy (its only tracee) has.
        let children = (try? String(contentsOfFile: "/proc/\(proxy.child.pid)/task/\(proxy.child.pid)/children", encoding: .utf8)) ?? ""
        let heddle = try #require(children.split(separator: " ").first.flatMap { Int32($0) }, "no heddle process under strace")
        kill(heddle, SIGKILL)
        #expect(await proxy.child.waitForExit(timeout: .seconds(10)) != nil, "strace did not end after the proxy")
        let lines = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n")
        /// The calls of `name` on a socket: the descriptor, the first argument, is one.
        func calls(_ name: String) -> [Substring] {
            lines.filter { line in
                guard let open = line.range(of: "\(name)("), open.lowerBound == line.startIndex || line[line.index(before: open.lowerBound)] == " " else { return false }
                let descriptor = line[open.upperBound...].prefix { $0 != "," }
                return ["<TCP", "<UDP", "<UNIX", "<socket:"].contains { descriptor.contains($0) }
            }
        }
        let excerpt = lines.prefix(40).joined(separator: "\n")
        #expect(calls("recvfrom").count >= 4, "reads of requests and responses:\n\(excerpt)")
        #expect(calls("sendto").count + calls("sendmsg").count >= 4, "writes of requests and responses:\n\(excerpt)")
        for name in ["read", "write", "writev"] {
            let found = calls(name)
            #expect(found.isEmpty, "\(name) on a socket:\n\(found.prefix(5).joined(separator: "\n"))")
        }
    }
}
