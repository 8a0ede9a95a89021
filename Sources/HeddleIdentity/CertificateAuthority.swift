import Crypto
import Foundation
import SwiftASN1
import X509

/// The mesh's certificate authority: it signs workload certificates (X.509-SVIDs) whose only URI
/// SAN is the workload's SPIFFE ID. Its signing certificate is a root it made itself, or an
/// operator's CA (often an intermediate under the organisation's root).
public struct CertificateAuthority: Sendable {
    public let trustDomain: String
    /// The certificate that signs workload certificates.
    public let certificate: Certificate
    private let privateKey: Certificate.PrivateKey
    /// The certificates between the signing certificate and a root, sent with every leaf.
    public let intermediates: [Certificate]
    /// The roots workloads trust.
    public let trustBundle: [Certificate]

    /// A new root for `trustDomain`: ECDSA P-256, valid from a minute before `now` for `validity`.
    public static func createRoot(trustDomain: String, now: Date, validity: Duration = .seconds(10 * 365 * 86_400)) throws -> CertificateAuthority {
        guard SPIFFEID.isValidTrustDomain(trustDomain) else {
            throw IdentityError(.invalidIdentity, "'\(trustDomain)' is not a valid trust domain (lowercase letters, digits, '.', '-', '_')")
        }
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let name = try DistinguishedName {
            OrganizationName("Heddle")
            CommonName("Heddle root CA for \(trustDomain)")
        }
        let root = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key.publicKey,
            notValidBefore: now.addingTimeInterval(-60), notValidAfter: now.addingTimeInterval(validity.seconds),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 1))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: key.publicKey)
            },
            issuerPrivateKey: key)
        return CertificateAuthority(trustDomain: trustDomain, certificate: root, privateKey: key, intermediates: [], trustBundle: [root])
    }

    /// An existing CA from PEM: its certificate and private key, the intermediates up to the
    /// root (none when it is the root), and the roots to trust (by default the last certificate
    /// of the chain). Refused with the reason when the certificate is not a CA, the key does not
    /// match it, or a PEM cannot be read.
    public init(trustDomain: String, certificatePEM: String, privateKeyPEM: String, intermediatesPEM: String = "", trustBundlePEM: String? = nil) throws {
        guard SPIFFEID.isValidTrustDomain(trustDomain) else {
            throw IdentityError(.invalidIdentity, "'\(trustDomain)' is not a valid trust domain")
        }
        let certificate: Certificate
        let key: Certificate.PrivateKey
        do {
            certificate = try Certificate(pemEncoded: certificatePEM)
        } catch {
            throw IdentityError(.invalidCertificate, "the CA certificate cannot be read as PEM: \(error)")
        }
        do {
            key = try Certificate.PrivateKey(pemEncoded: privateKeyPEM)
        } catch {
            throw IdentityError(.invalidCertificate, "the CA private key cannot be read as PEM: \(error)")
        }
        guard case .isCertificateAuthority? = try? certificate.extensions.basicConstraints else {
            throw IdentityError(.invalidCertificate, "the CA certificate is not a CA (basicConstraints CA:TRUE is missing)")
        }
        guard key.publicKey == certificate.publicKey else {
            throw IdentityError(.invalidCertificate, "the CA private key does not belong to the CA certificate")
        }
        let intermediates = try Self.certificates(in: intermediatesPEM, what: "the intermediates")
        let bundle = try trustBundlePEM.map { try Self.certificates(in: $0, what: "the trust bundle") } ?? [intermediates.last ?? certificate]
        guard !bundle.isEmpty else { throw IdentityError(.invalidCertificate, "the trust bundle holds no certificate") }
        self.init(trustDomain: trustDomain, certificate: certificate, privateKey: key, intermediates: intermediates, trustBundle: bundle)
    }

    private init(trustDomain: String, certificate: Certificate, privateKey: Certificate.PrivateKey, intermediates: [Certificate], trustBundle: [Certificate]) {
        self.trustDomain = trustDomain
        self.certificate = certificate
        self.privateKey = privateKey
        self.intermediates = intermediates
        self.trustBundle = trustBundle
    }

    /// Signs a workload certificate for `service` from `request`, valid from a minute before
    /// `now` for `lifetime` (cut at the CA's own expiry). The request proves the workload holds
    /// the key; its subject and any names it asks for are ignored: the identity is the
    /// service's SPIFFE ID, given by the control plane, which has checked who is asking.
    public func issue(_ request: CertificateSigningRequest, for service: String, now: Date, lifetime: Duration = .seconds(86_400)) throws -> IssuedCertificate {
        guard request.publicKey.isValidSignature(request.signature, for: request) else {
            throw IdentityError(.invalidRequest, "the certificate signing request's signature does not match its key")
        }
        let identity = try SPIFFEID(trustDomain: trustDomain, service: service)
        let notAfter = min(now.addingTimeInterval(lifetime.seconds), certificate.notValidAfter)
        guard notAfter > now else { throw IdentityError(.invalidCertificate, "the CA certificate has expired (\(certificate.notValidAfter))") }
        let subject = try DistinguishedName {
            OrganizationName("Heddle")
            CommonName(service)
        }
        let issuerKeyID = certificate.keyIdentifier
        let leaf = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: request.publicKey,
            notValidBefore: now.addingTimeInterval(-60), notValidAfter: notAfter,
            issuer: certificate.subject, subject: subject, signatureAlgorithm: Self.signatureAlgorithm(for: privateKey),
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: false))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectKeyIdentifier(hash: request.publicKey)
                AuthorityKeyIdentifier(keyIdentifier: issuerKeyID)
                SubjectAlternativeNames([.uniformResourceIdentifier(identity.uri)])
            },
            issuerPrivateKey: privateKey)
        return IssuedCertificate(identity: identity, leaf: leaf, intermediates: intermediates)
    }

    /// This CA trusting `roots` instead (a root rotation adds a new root beside the old one,
    /// then drops the old one).
    public func trusting(_ roots: [Certificate]) -> CertificateAuthority {
        CertificateAuthority(trustDomain: trustDomain, certificate: certificate, privateKey: privateKey, intermediates: intermediates, trustBundle: roots)
    }

    /// The CA's private key as PEM (to keep it on disk, readable by the control plane only).
    public func privateKeyPEM() throws -> String {
        try privateKey.serializeAsPEM().pemString
    }

    /// The trust bundle as PEM.
    public func trustBundlePEM() throws -> String {
        try trustBundle.map { try $0.serializeAsPEM().pemString }.joined(separator: "\n") + "\n"
    }

    static func certificates(in pem: String, what: String) throws -> [Certificate] {
        do {
            return try PEMDocument.parseMultiple(pemString: pem).map { try Certificate(pemDocument: $0) }
        } catch {
            throw IdentityError(.invalidCertificate, "\(what) cannot be read as PEM certificates: \(error)")
        }
    }

    /// The usual signature algorithm for the CA's key type (an operator's CA may use P-384,
    /// P-521 or RSA).
    private static func signatureAlgorithm(for key: Certificate.PrivateKey) -> Certificate.SignatureAlgorithm {
        let publicKey = key.publicKey
        if P256.Signing.PublicKey(publicKey) != nil { return .ecdsaWithSHA256 }
        if P384.Signing.PublicKey(publicKey) != nil { return .ecdsaWithSHA384 }
        if P521.Signing.PublicKey(publicKey) != nil { return .ecdsaWithSHA512 }
        if Curve25519.Signing.PublicKey(publicKey) != nil { return .ed25519 }
        return .sha256WithRSAEncryption
    }
}

/// A workload certificate and the intermediates to send with it.
public struct IssuedCertificate: Sendable {
    public let identity: SPIFFEID
    public let leaf: Certificate
    public let intermediates: [Certificate]

    /// The leaf then the intermediates, as PEM.
    public func chainPEM() throws -> String {
        try ([leaf] + intermediates).map { try $0.serializeAsPEM().pemString }.joined(separator: "\n") + "\n"
    }
}

extension Duration {
    var seconds: TimeInterval {
        TimeInterval(components.seconds) + TimeInterval(components.attoseconds) / 1e18
    }
}
