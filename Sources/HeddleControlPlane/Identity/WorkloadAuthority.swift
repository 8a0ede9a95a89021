import Foundation
import HeddleAPI
import HeddleIdentity
import SwiftASN1
import Synchronization
import X509

/// The control plane's side of workload identity: gives out join tokens, and signs a proxy's
/// certificate when it proves which service it runs — with a join token, or (to renew with the
/// same key) with its current certificate. Its only state is the CA (which a root rotation
/// changes, under a lock), so it is not on the control plane's actor.
public final class WorkloadAuthority: Sendable {
    let tokens: JoinTokens
    let now: @Sendable () -> Date
    /// How long a workload certificate lives.
    public let certificateLifetime: Duration
    /// Where a rotation keeps its roots (the control plane's own CA); nil for an operator's CA,
    /// which is rotated in its own PKI.
    let keeper: IdentityKeeper?
    let state: Mutex<RootState>

    /// The signing CA (with the trust bundle), the root a rotation has prepared, and the root
    /// it has retired from signing but still trusts; `revision`: the shared store's revision of
    /// the record they were read from (0 otherwise).
    struct RootState: Sendable {
        var signer: CertificateAuthority
        var pending: CertificateAuthority?
        var previous: Certificate?
        var revision: Int64 = 0
    }

    /// An authority that keeps nothing: its CA cannot be rotated (tests, an operator's CA).
    public convenience init(
        authority: CertificateAuthority, tokens: JoinTokens, certificateLifetime: Duration = .seconds(86_400), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.init(state: RootState(signer: authority), tokens: tokens, certificateLifetime: certificateLifetime, keeper: nil, now: now)
    }

    init(
        state: RootState, tokens: JoinTokens, certificateLifetime: Duration, keeper: IdentityKeeper?, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.tokens = tokens
        self.now = now
        self.certificateLifetime = certificateLifetime
        self.keeper = keeper
        self.state = Mutex(state)
    }

    /// The CA that signs now, with the trust bundle.
    public var authority: CertificateAuthority { state.withLock { $0.signer } }

    public var trustDomain: String { authority.trustDomain }

    /// A join token for `service`, valid `ttlSeconds` (1800 by default; 1 s to 24 h).
    public func token(_ request: TokenRequest) throws(ControlPlaneError) -> TokenResponse {
        let ttl = request.ttlSeconds ?? 1800
        guard (1...86_400).contains(ttl) else {
            throw ControlPlaneError(.invalid, "ttlSeconds must be between 1 and 86400, not \(ttl)")
        }
        guard SPIFFEID.isValidService(request.service) else {
            throw ControlPlaneError(.invalid, "'\(request.service)' is not a valid service name")
        }
        let issued = now()
        do {
            let token = try tokens.create(service: request.service, now: issued, lifetime: .seconds(ttl))
            return TokenResponse(token: token, service: request.service, expires: Int64(issued.timeIntervalSince1970) + Int64(ttl))
        } catch {
            throw ControlPlaneError(.invalid, "\(error)")
        }
    }

    /// Signs the request's CSR for the service its proof names. A token or certificate that
    /// proves nothing is `forbidden`, with the reason; a CSR that cannot be read or whose
    /// signature is wrong is `invalid`.
    public func certificate(_ request: CertificateRequest) async throws(ControlPlaneError) -> CertificateResponse {
        let csr: CertificateSigningRequest
        do {
            csr = try CertificateSigningRequest(pemEncoded: request.csr)
        } catch {
            throw ControlPlaneError(.invalid, "csr: not a PEM certificate signing request: \(error)")
        }
        let at = now()
        let service: String
        switch (request.token, request.currentCertificate) {
        case (let token?, nil):
            do {
                service = try tokens.verify(token, now: at)
            } catch {
                throw ControlPlaneError(.forbidden, "token: \(error.message)")
            }
        case (nil, let current?):
            let chain: [Certificate]
            do {
                chain = try PEMDocument.parseMultiple(pemString: current).map { try Certificate(pemDocument: $0) }
            } catch {
                throw ControlPlaneError(.invalid, "currentCertificate: not PEM certificates: \(error)")
            }
            guard !chain.isEmpty else { throw ControlPlaneError(.invalid, "currentCertificate: not PEM certificates: no certificate found") }
            let current = authority
            let verifier = PeerVerifier(trustDomain: current.trustDomain, trustBundle: current.trustBundle)
            do {
                service = try await verifier.verify(chain: chain, now: at).service
            } catch {
                throw ControlPlaneError(.forbidden, "currentCertificate: \(error.message)")
            }
            // Renewal keeps the key: the CSR's signature proves the caller holds the key of the
            // certificate it shows.
            guard chain.first?.publicKey == csr.publicKey else {
                throw ControlPlaneError(.forbidden, "a renewal must keep the key of the current certificate (a new key needs a join token)")
            }
        case (nil, nil):
            throw ControlPlaneError(.forbidden, "give a join token (heddle token create --service NAME) or the current certificate")
        case (.some, .some):
            throw ControlPlaneError(.invalid, "give a join token or the current certificate, not both")
        }
        do {
            let signer = authority
            let issued = try signer.issue(csr, for: service, now: at, lifetime: certificateLifetime)
            return CertificateResponse(
                identity: issued.identity.uri, certificateChain: try issued.chainPEM(), trustBundle: try signer.trustBundlePEM(),
                notAfter: Int64(issued.leaf.notValidAfter.timeIntervalSince1970))
        } catch let error as IdentityError {
            throw ControlPlaneError(error.kind == .invalidRequest ? .invalid : .unavailable, "csr: \(error.message)")
        } catch {
            throw ControlPlaneError(.unavailable, "the certificate could not be signed: \(error)")
        }
    }
}
