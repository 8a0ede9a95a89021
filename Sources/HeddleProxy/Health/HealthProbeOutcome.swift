import HeddleHTTP1
import NIOCore

/// How one health probe of an endpoint went, with a short reason for the log ("status 200",
/// "status 503", "no answer within 150ms", "connection refused").
enum HealthProbeOutcome: Hashable, Sendable, CustomStringConvertible {
    case passed(String)
    case failed(String)

    var passed: Bool {
        if case .passed = self { return true }
        return false
    }

    var reason: String {
        switch self {
        case .passed(let reason), .failed(let reason): reason
        }
    }

    var description: String { "\(passed ? "passed" : "failed"): \(reason)" }

    /// A final response status: 2xx passes, anything else fails.
    static func status(_ code: Int) -> HealthProbeOutcome {
        (200..<300).contains(code) ? .passed("status \(code)") : .failed("status \(code)")
    }

    /// The outcome of an HTTP/1.1 probe from the bytes received so far, or nil while the first
    /// final response head is incomplete. Interim (1xx) heads are skipped; bytes that are not a
    /// valid HTTP/1.1 response head fail.
    static func http1Response(_ received: ByteBuffer) -> HealthProbeOutcome? {
        var buffer = received
        var fields: [HTTP1Field] = []
        while true {
            switch HTTP1HeadParser.parseResponse(buffer, requestMethod: .get, fields: &fields) {
            case .needMoreBytes:
                return nil
            case .error(let error):
                return .failed("invalid response: \(error.reason)")
            case .head(let head, let consumed):
                guard head.isInterim else { return status(head.statusCode) }
                buffer.moveReaderIndex(forwardBy: consumed)
            }
        }
    }
}
