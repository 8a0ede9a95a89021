import HeddleCore
import NIOCore
import NIOHPACK
import Testing

@testable import HeddleProxy

/// The gRPC face of proxy-made errors: status codes by reason, `grpc-message` encoding, and the
/// trailers-only response.
@Suite("gRPC status mapping")
struct GRPCStatusTests {
    @Test("Each reason maps to the gRPC status a client can act on", arguments: [
        (ProxyErrorReason.noRoute, 12), (.notImplemented, 12),
        (.noEndpoints, 14), (.connectFailed, 14), (.dnsFailed, 14), (.upstreamReset, 14),
        (.upstreamTimeout, 4), (.connectTimeout, 4), (.requestHeaderTimeout, 4),
        (.badRequest, 13), (.upstreamProtocolError, 13), (.unsupportedVersion, 13),
        (.headersTooLarge, 8),
    ])
    func mapping(reason: ProxyErrorReason, code: Int) {
        #expect(GRPCStatus(for: reason).code == code)
    }

    @Test("Every reason has a status other than OK")
    func noReasonIsOK() {
        for reason in ProxyErrorReason.allCases {
            #expect(GRPCStatus(for: reason) != .ok, "\(reason)")
        }
    }

    @Test("Printable ASCII passes; '%', controls and non-ASCII bytes become %XX", arguments: [
        ("no route for host 'x'", "no route for host 'x'"),
        ("100% done", "100%25 done"),
        ("café", "caf%C3%A9"),
        ("line\nbreak\ttab", "line%0Abreak%09tab"),
        ("~ and space", "~ and space"),
        ("\u{7F}", "%7F"),
        ("", ""),
    ])
    func percentEncoding(message: String, encoded: String) {
        #expect(GRPCMessageEncoding.percentEncode(message) == encoded)
        #expect(GRPCMessageEncoding.percentDecode(encoded) == message)
    }

    @Test("Decoding keeps a '%' that is not followed by two hex digits")
    func lenientDecoding() {
        #expect(GRPCMessageEncoding.percentDecode("50%") == "50%")
        #expect(GRPCMessageEncoding.percentDecode("%zz%4") == "%zz%4")
        #expect(GRPCMessageEncoding.percentDecode("%e2%9c%93") == "✓")
    }

    @Test("Long messages are cut before encoding, so the header stays bounded")
    func longMessage() {
        let encoded = GRPCMessageEncoding.percentEncode(String(repeating: "é", count: 1000))
        #expect(encoded.utf8.count <= GRPCMessageEncoding.maximumBytes * 3)
    }

    @Test("A gRPC error is trailers-only: :status 200, grpc-status, grpc-message, heddle-error, no body")
    func grpcResponse() {
        let response = HTTP2ErrorResponse(ProxyFailure(.noRoute, "no route for host 'x' path '/a.B/C'"), grpc: true)
        #expect(response.body == nil)
        #expect(response.headers.first(name: ":status") == "200")
        #expect(response.headers.first(name: "content-type") == "application/grpc")
        #expect(response.headers.first(name: "grpc-status") == "12")
        #expect(response.headers.first(name: "grpc-message") == "heddle: no-route: no route for host 'x' path '/a.B/C'")
        #expect(response.headers.first(name: "heddle-error") == "no-route")
        #expect(response.headers.first(name: "proxy-status")?.hasPrefix("heddle; error=destination_not_found") == true)
        #expect(response.headers.map(\.name).first == ":status", "the pseudo-header comes first")
    }

    @Test("A plain HTTP/2 error has the reason's status, heddle-error, proxy-status and a text body")
    func plainResponse() {
        let response = HTTP2ErrorResponse(ProxyFailure(.connectFailed, "cannot connect to 10.0.0.1:80: refused"), grpc: false)
        let body = response.body.map { String(buffer: $0) }
        #expect(body == "heddle: connect-failed: cannot connect to 10.0.0.1:80: refused\n")
        #expect(response.headers.first(name: ":status") == "502")
        #expect(response.headers.first(name: "content-length") == String(body?.utf8.count ?? 0))
        #expect(response.headers.first(name: "heddle-error") == "connect-failed")
        #expect(response.headers.first(name: "grpc-status") == nil)
    }
}
