import Foundation
import SwiftASN1
import X509

/// Decides whether a peer's certificate chain is a workload identity of this mesh: signed (through
/// any intermediates) by a root of the trust bundle, valid at `now`, not a CA, and naming exactly
/// one SPIFFE ID — of this trust domain — as its only URI SAN. Every refusal names its reason.
public struct PeerVerifier: Sendable {
    public let trustDomain: String
    public let trustBundle: [Certificate]

    public init(trustDomain: String, trustBundle: [Certificate]) {
        self.trustDomain = trustDomain
        self.trustBundle = trustBundle
    }

    /// The peer's identity, from its chain (leaf first).
    public func verify(chain: [Certificate], now: Date) async throws(IdentityError) -> SPIFFEID {
        guard let leaf = chain.first else { throw IdentityError(.untrustedPeer, "the peer sent no certificate") }
        let identity = try Self.identity(of: leaf, trustDomain: trustDomain)
        if now < leaf.notValidBefore {
            throw IdentityError(.untrustedPeer, "the certificate of \(identity) is not valid before \(leaf.notValidBefore)")
        }
        if now > leaf.notValidAfter {
            throw IdentityError(.untrustedPeer, "the certificate of \(identity) expired at \(leaf.notValidAfter)")
        }
        var verifier = Verifier(rootCertificates: CertificateStore(trustBundle)) {
            RFC5280Policy(fixedValidationTime: now)
        }
        let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore(Array(chain.dropFirst())))
        switch result {
        case .validCertificate:
            return identity
        case .couldNotValidate(let failures):
            let reasons = failures.map { "\($0.policyFailureReason)" }
            let detail = reasons.isEmpty ? "" : " (\(reasons.joined(separator: "; ")))"
            throw IdentityError(.untrustedPeer, "the certificate of \(identity) is not signed by this mesh's certificate authority\(detail)")
        }
    }

    /// The SPIFFE ID a leaf certificate asserts, checked against the SVID rules: not a CA, no
    /// certificate signing, exactly one URI SAN, a SPIFFE ID of `trustDomain`.
    public static func identity(of leaf: Certificate, trustDomain: String) throws(IdentityError) -> SPIFFEID {
        let extensions = leaf.extensions
        let constraints: BasicConstraints?
        let usage: KeyUsage?
        let names: SubjectAlternativeNames?
        do {
            constraints = try extensions.basicConstraints
            usage = try extensions.keyUsage
            names = try extensions.subjectAlternativeNames
        } catch {
            throw IdentityError(.untrustedPeer, "the peer certificate's extensions cannot be read: \(error)")
        }
        if case .isCertificateAuthority? = constraints {
            throw IdentityError(.untrustedPeer, "the peer certificate is a CA certificate (CA:TRUE), not a workload identity")
        }
        if let usage, usage.keyCertSign || usage.cRLSign {
            throw IdentityError(.untrustedPeer, "the peer certificate may sign certificates (keyCertSign/cRLSign), which a workload identity must not")
        }
        let uris = (names.map(Array.init) ?? []).compactMap { name -> String? in
            if case .uniformResourceIdentifier(let uri) = name { return uri }
            return nil
        }
        guard uris.count == 1, let uri = uris.first else {
            throw IdentityError(.untrustedPeer, "the peer certificate has \(uris.count) URI SANs; a workload identity has exactly one, its SPIFFE ID")
        }
        let identity: SPIFFEID
        do {
            identity = try SPIFFEID(parsing: uri)
        } catch {
            throw IdentityError(.untrustedPeer, "the peer certificate's URI SAN is not a Heddle SPIFFE ID: \(error.message)")
        }
        guard identity.trustDomain == trustDomain else {
            throw IdentityError(.untrustedPeer, "the peer \(identity) belongs to trust domain '\(identity.trustDomain)', not '\(trustDomain)'")
        }
        return identity
    }
}
