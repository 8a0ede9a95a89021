import Foundation
import Testing

/// Each malformed or smuggling-shaped request is answered with its status and `heddle-error`,
/// and the connection is closed; nothing reaches the upstream.
@Suite(.serialized)
struct MalformedRequestTests {
    static let cases: [(name: String, bytes: String, status: Int, reason: String)] = [
        ("CL and TE", "POST /count HTTP/1.1\r\nHost: app\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "bad-request"),
        ("invalid CL", "POST /count HTTP/1.1\r\nHost: app\r\nContent-Length: 4x\r\n\r\nabcd", 400, "bad-request"),
        ("negative CL", "POST /count HTTP/1.1\r\nHost: app\r\nContent-Length: -1\r\n\r\n", 400, "bad-request"),
        ("conflicting CL", "POST /count HTTP/1.1\r\nHost: app\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", 400, "bad-request"),
        ("obs-fold", "GET / HTTP/1.1\r\nHost: app\r\nx-folded: a\r\n b\r\n\r\n", 400, "bad-request"),
        ("space before colon", "GET / HTTP/1.1\r\nHost: app\r\nTransfer-Encoding : chunked\r\n\r\n", 400, "bad-request"),
        // RFC 9112 §6.1: a transfer coding the server does not understand is answered 501.
        ("TE not chunked", "POST / HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "not-implemented"),
        ("TE xchunked", "POST / HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: xchunked\r\n\r\n", 501, "not-implemented"),
        ("TE chunked twice", "POST / HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 501, "not-implemented"),
        ("bare LF", "GET / HTTP/1.1\nHost: app\n\n", 400, "bad-request"),
        ("NUL in value", "GET / HTTP/1.1\r\nHost: app\r\nx-a: a\u{0}b\r\n\r\n", 400, "bad-request"),
        ("missing Host", "GET / HTTP/1.1\r\n\r\n", 400, "bad-request"),
        ("two Hosts", "GET / HTTP/1.1\r\nHost: app\r\nHost: evil\r\n\r\n", 400, "bad-request"),
        ("space in target", "GET /a b HTTP/1.1\r\nHost: app\r\n\r\n", 400, "bad-request"),
        ("garbage request line", "HELLO\r\n\r\n", 400, "bad-request"),
        ("bad chunk size", "POST /count HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400, "bad-request"),
        ("too many headers", "GET / HTTP/1.1\r\nHost: app\r\n" + (0..<150).map { "x-h\($0): v\r\n" }.joined() + "\r\n", 431, "headers-too-large"),
    ]

    @Test func malformedRequestsAreRefusedAndClosed() async throws {
        let app = try await Upstream(.http, name: "malformed")
        let proxy = try await HeddleProxyProcess(config: Config.proxy() + Config.service("app", [app.address]))
        for item in Self.cases {
            let connection = try RawConnection(port: proxy.outbound)
            connection.send(item.bytes)
            let response = try connection.readResponse()
            #expect(response.status == item.status, "\(item.name): \(response.raw)")
            #expect(response.headers["heddle-error"] == item.reason, "\(item.name): \(response.raw)")
            #expect(response.headers["proxy-status"]?.contains("error=http_request_error") == true, "\(item.name)")
            #expect(response.closed, "\(item.name): connection left open")
        }
        // The proxy is still healthy after all of that.
        #expect(try curl(["-H", "Host: app", "http://127.0.0.1:\(proxy.outbound)/hello"]).output == "hello from malformed\n")
    }
}
