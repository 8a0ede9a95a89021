import Foundation
import HeddleIdentity
import NIOCore
import NIOSSL
import SwiftASN1
import X509

/// What one mutual-TLS handshake learned about its peer: the identity it proved, or why it was
/// refused. Written on the connection's event loop by the verification callback, read there by
/// the handlers that answer requests or report the refusal.
final class PeerCheck {
    /// The peer's SPIFFE ID once its certificate has been verified.
    private(set) var identity: String?
    /// Why the peer's certificate was refused.
    private(set) var refusal: String?

    /// The `expected` identity, when set, is the one the peer must have (the destination
    /// service's); a server accepts any identity of its trust domain.
    let expected: String?

    init(expected: String? = nil) {
        self.expected = expected
    }

    /// A verification callback for an `NIOSSLHandler` of `eventLoop`: the chain must be a
    /// workload identity of the mesh (`PeerVerifier`) and, for a client, name `expected`.
    /// The X.509 path validation runs off the event loop; the verdict is recorded on it.
    func callback(verifier: PeerVerifier, now: Date, eventLoop: any EventLoop) -> NIOSSLCustomVerificationCallback {
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let expected = self.expected
        return { certificates, promise in
            let chain: [Certificate]
            do {
                chain = try certificates.map { try Certificate(derEncoded: try $0.toDERBytes()) }
            } catch {
                bound.value.refusal = "the peer's certificate cannot be read: \(error)"
                promise.succeed(.failed)
                return
            }
            let verdict = eventLoop.makePromise(of: Result<SPIFFEID, IdentityError>.self)
            verdict.completeWithTask {
                do throws(IdentityError) {
                    return .success(try await verifier.verify(chain: chain, now: now))
                } catch {
                    return .failure(error)
                }
            }
            verdict.futureResult.whenSuccess { result in
                let check = bound.value
                switch result {
                case .success(let identity):
                    if let expected, identity.uri != expected {
                        check.refusal = "the peer is \(identity.uri), not \(expected), the identity of the endpoint's service"
                        promise.succeed(.failed)
                    } else {
                        check.identity = identity.uri
                        promise.succeed(.certificateVerified)
                    }
                case .failure(let error):
                    check.refusal = error.message
                    promise.succeed(.failed)
                }
            }
        }
    }

    /// Why a handshake failed, for logs and `heddle-error` details: the certificate's refusal
    /// when there was one, else what TLS said (`explain(_:versionWanted:)`).
    func explain(_ error: any Error) -> String {
        refusal ?? Self.explain(error, versionWanted: "TLS 1.3")
    }

    /// What TLS said of a failed handshake, in words an operator can act on; `versionWanted`
    /// names the versions the listener accepts.
    static func explain(_ error: any Error, versionWanted: String) -> String {
        let text = "\(error)"
        if text.contains("WRONG_VERSION_NUMBER") || text.contains("HTTP_REQUEST") || text.contains("UNKNOWN_PROTOCOL") {
            return "the peer did not speak TLS (a plaintext client?)"
        }
        if text.contains("PEER_DID_NOT_RETURN_A_CERTIFICATE") || text.contains("CERTIFICATE_REQUIRED") {
            return "the peer sent no client certificate"
        }
        if text.contains("UNSUPPORTED_PROTOCOL") || text.contains("PROTOCOL_VERSION") {
            return "the peer does not speak \(versionWanted)"
        }
        if text.contains("BAD_CERTIFICATE") || text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("DECRYPT_ERROR") {
            return "the peer refused this proxy's certificate (\(text))"
        }
        if let io = error as? NIOSSLError, case .uncleanShutdown = io {
            return "the peer closed the connection during the TLS handshake"
        }
        return "TLS handshake failed: \(text)"
    }
}
