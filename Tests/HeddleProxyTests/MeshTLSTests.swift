import Foundation
import HeddleIdentity
@testable import HeddleProxy
import Logging
import Testing

/// Credentials a proxy is given for mutual TLS are checked when installed: what cannot be used
/// is refused with the reason, and nothing is installed.
@Suite("MeshTLS")
struct MeshTLSTests {
    @Test("Unreadable or empty credentials are refused, naming the problem, and leave the proxy without an identity")
    func refusesWhatItCannotUse() {
        let tls = MeshTLS()
        #expect(throws: (any Error).self) { try tls.install(chainPEM: "not a certificate", keyPEM: "", bundlePEM: "") }
        do {
            try tls.install(chainPEM: "", keyPEM: "", bundlePEM: "")
            Issue.record("empty credentials were installed")
        } catch {
            #expect(error.message.contains("holds no certificate"), "\(error.message)")
        }
        #expect(tls.identity == nil)
    }
}

/// Refusal logs under a flood: ten lines a second, and the next line counts what was left out.
@Suite("RefusalLogLimiter")
struct RefusalLogLimiterTests {
    @Test("At most perSecond lines a second; the first line of the next second says how many were not logged")
    func limits() {
        let recorder = LogRecorder()
        let logger = Logger(label: "test") { _ in recorder }
        let limiter = RefusalLogLimiter(perSecond: 3)
        for index in 0..<10 {
            limiter.log(logger, .warning, "refused", metadata: ["n": "\(index)"], now: 5_000_000_000 + UInt64(index))
        }
        limiter.log(logger, .warning, "refused", metadata: ["n": "10"], now: 6_000_000_000)
        #expect(recorder.lines == ["n=0", "n=1", "n=2", "n=10 not_logged_before=7"])
    }
}

/// Keeps what a logger writes, as `key=value` lines in key order.
final class LogRecorder: LogHandler, @unchecked Sendable {
    private(set) var lines: [String] = []
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        lines.append((event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
    }
}
