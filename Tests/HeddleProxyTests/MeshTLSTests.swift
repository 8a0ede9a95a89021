import Foundation
import HeddleIdentity
import HeddleProxy
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
