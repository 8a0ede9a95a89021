import Testing

@testable import HeddleProxy

/// `ProxyErrorReason`: the status, `heddle-error` identifier and RFC 9209 error type of each
/// reason; `ProxyFailure.proxyStatus`: a valid structured-field `Proxy-Status` value.
@Suite("ProxyErrorReason")
struct ProxyErrorReasonTests {
    /// reason, status, `heddle-error`, RFC 9209 error type, reason phrase.
    static let table: [(ProxyErrorReason, Int, String, String, String)] = [
        (.noRoute, 404, "no-route", "destination_not_found", "Not Found"),
        (.noEndpoints, 503, "no-endpoints", "destination_unavailable", "Service Unavailable"),
        (.connectFailed, 502, "connect-failed", "connection_refused", "Bad Gateway"),
        (.connectTimeout, 504, "connect-timeout", "connection_timeout", "Gateway Timeout"),
        (.upstreamTLSFailed, 502, "upstream-tls-failed", "tls_certificate_error", "Bad Gateway"),
        (.noWorkloadIdentity, 503, "no-workload-identity", "proxy_configuration_error", "Service Unavailable"),
        (.dnsFailed, 503, "dns-failed", "dns_error", "Service Unavailable"),
        (.upstreamReset, 502, "upstream-reset", "connection_terminated", "Bad Gateway"),
        (.upstreamTimeout, 504, "upstream-timeout", "http_response_timeout", "Gateway Timeout"),
        (.upstreamProtocolError, 502, "upstream-protocol-error", "http_protocol_error", "Bad Gateway"),
        (.badRequest, 400, "bad-request", "http_request_error", "Bad Request"),
        (.headersTooLarge, 431, "headers-too-large", "http_request_error", "Request Header Fields Too Large"),
        (.unsupportedVersion, 505, "unsupported-version", "http_request_error", "HTTP Version Not Supported"),
        (.notImplemented, 501, "not-implemented", "http_request_error", "Not Implemented"),
        (.requestHeaderTimeout, 408, "request-header-timeout", "http_request_error", "Request Timeout"),
        (.deadlineExceeded, 504, "deadline-exceeded", "http_response_timeout", "Gateway Timeout"),
        (.retryBudgetExhausted, 503, "retry-budget-exhausted", "destination_unavailable", "Service Unavailable"),
        (.circuitOpen, 503, "circuit-open", "connection_limit_reached", "Service Unavailable"),
        (.rateLimited, 429, "rate-limited", "http_request_denied", "Too Many Requests"),
        (.faultInjected, 503, "fault-injected", "proxy_internal_response", "Service Unavailable"),
        (.deniedByPolicy, 403, "denied-by-policy", "http_request_denied", "Forbidden"),
    ]

    /// The proxy error types registered by RFC 9209 §2.3.
    static let rfc9209ErrorTypes: Set<String> = [
        "dns_timeout", "dns_error", "destination_not_found", "destination_unavailable",
        "destination_ip_prohibited", "destination_ip_unroutable", "connection_refused",
        "connection_terminated", "connection_timeout", "connection_read_timeout",
        "connection_write_timeout", "connection_limit_reached", "tls_protocol_error",
        "tls_certificate_error", "tls_alert_received", "http_request_error", "http_request_denied",
        "http_response_incomplete", "http_response_header_section_size", "http_response_header_size",
        "http_response_body_size", "http_response_trailer_section_size", "http_response_trailer_size",
        "http_response_transfer_coding", "http_response_content_coding", "http_response_timeout",
        "http_upgrade_failed", "http_protocol_error", "proxy_internal_response", "proxy_internal_error",
        "proxy_configuration_error", "proxy_loop_detected",
    ]

    @Test("The table covers every reason exactly once")
    func tableIsComplete() {
        #expect(Self.table.map(\.0) == ProxyErrorReason.allCases)
    }

    @Test("Each reason has its status, identifier, RFC 9209 error type and reason phrase", arguments: ProxyErrorReasonTests.table)
    func reasonFacts(reason: ProxyErrorReason, status: Int, identifier: String, errorType: String, phrase: String) {
        #expect(reason.status == status)
        #expect(reason.identifier == identifier)
        #expect(reason.proxyStatusError == errorType)
        #expect(reason.reasonPhrase == phrase)
        #expect(Self.rfc9209ErrorTypes.contains(reason.proxyStatusError))
        #expect(ProxyErrorReason(rawValue: identifier) == reason)
    }

    @Test("Identifiers are distinct, so heddle-error tells every reason apart")
    func identifiersAreDistinct() {
        let identifiers = ProxyErrorReason.allCases.map(\.identifier)
        #expect(Set(identifiers).count == identifiers.count)
    }

    // MARK: - ProxyFailure.proxyStatus

    @Test("Proxy-Status names Heddle, the error type and the details")
    func plainDetails() {
        let failure = ProxyFailure(.noRoute, "no route for host 'web' path '/'")
        #expect(failure.proxyStatus == "heddle; error=destination_not_found; details=\"no route for host 'web' path '/'\"")
        #expect(Self.isStructuredFieldString(Self.detailsValue(failure.proxyStatus)))
    }

    @Test("Empty details are an empty string")
    func emptyDetails() {
        #expect(ProxyFailure(.badRequest, "").proxyStatus == "heddle; error=http_request_error; details=\"\"")
    }

    @Test("Quotes and backslashes are escaped")
    func escapesQuotesAndBackslashes() {
        let failure = ProxyFailure(.connectFailed, #"say "hi" \ C:\path"#)
        #expect(failure.proxyStatus == #"heddle; error=connection_refused; details="say \"hi\" \\ C:\\path""#)
        #expect(Self.isStructuredFieldString(Self.detailsValue(failure.proxyStatus)))
    }

    @Test("Control characters, DEL and non-ASCII become '?', one per Unicode scalar", arguments: [
        ("tab\there", "tab?here"),
        ("line\r\nbreak", "line??break"),
        ("nul\u{0}", "nul?"),
        ("del\u{7F}", "del?"),
        ("caf\u{E9}", "caf?"),
        ("e\u{301}", "e?"),
        ("\u{1F44D} ok", "? ok"),
        ("\u{1B}[31mred", "?[31mred"),
    ])
    func replacesUnprintable(details: String, expected: String) {
        let status = ProxyFailure(.badRequest, details).proxyStatus
        #expect(status == "heddle; error=http_request_error; details=\"\(expected)\"")
        #expect(status.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F })
    }

    @Test("Long details are cut to 200 characters")
    func truncatesLongDetails() {
        let failure = ProxyFailure(.dnsFailed, String(repeating: "a", count: 500))
        #expect(failure.proxyStatus == "heddle; error=dns_error; details=\"\(String(repeating: "a", count: 200))\"")
    }

    @Test("Cutting long details never splits an escape")
    func truncationKeepsEscapesWhole() {
        let failure = ProxyFailure(.dnsFailed, String(repeating: "\"", count: 300))
        let value = Self.detailsValue(failure.proxyStatus)
        #expect(value == "\"" + String(repeating: "\\\"", count: 200) + "\"")
        #expect(Self.isStructuredFieldString(value))
    }

    @Test("Every reason's Proxy-Status is a valid structured-field value", arguments: ProxyErrorReason.allCases)
    func everyReasonIsValid(reason: ProxyErrorReason) {
        let status = ProxyFailure(reason, "x \"y\" \\ \u{0}\u{E9}").proxyStatus
        #expect(status.hasPrefix("heddle; error=\(reason.proxyStatusError); details="))
        #expect(Self.isStructuredFieldString(Self.detailsValue(status)))
    }

    // MARK: - Helpers

    /// The text after `details=`.
    static func detailsValue(_ proxyStatus: String) -> String {
        guard let range = proxyStatus.firstRange(of: "details=") else { return "" }
        return String(proxyStatus[range.upperBound...])
    }

    /// RFC 8941 §3.3.3 sf-string: DQUOTE *( unescaped / "\" ( DQUOTE / "\" ) ) DQUOTE, with
    /// unescaped = %x20-21 / %x23-5B / %x5D-7E.
    static func isStructuredFieldString(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count >= 2, bytes.first == UInt8(ascii: "\""), bytes.last == UInt8(ascii: "\"") else { return false }
        var index = 1
        while index < bytes.count - 1 {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\\") {
                guard index + 1 < bytes.count - 1, bytes[index + 1] == UInt8(ascii: "\"") || bytes[index + 1] == UInt8(ascii: "\\") else { return false }
                index += 2
                continue
            }
            guard byte >= 0x20, byte <= 0x7E, byte != UInt8(ascii: "\"") else { return false }
            index += 1
        }
        return true
    }
}
