import Crypto
import Foundation
import HeddleIdentity
import SwiftASN1
import X509

/// Everything the control plane's identity is, as one value: the trust domain, the join-token
/// key, and its own certificate authority with where a root rotation stands. It is kept in the
/// data directory on one node (`IdentityFiles`, a file per part) and in the shared store with
/// replicas (`StoreIdentity`, one JSON document), so that every replica signs with the same CA
/// and accepts the same join tokens.
public struct IdentityRecord: Codable, Hashable, Sendable {
    public var trustDomain: String
    /// The join-token HMAC key, 32 bytes in hex.
    public var joinTokenKey: String
    /// The control plane's own CA; nil while only an operator's CA (`--ca-cert`) has been used.
    public var authority: Authority?

    /// The CA, all PEM.
    public struct Authority: Codable, Hashable, Sendable {
        /// The root that signs now, and its key.
        public var certificate: String
        public var privateKey: String
        /// The roots proxies trust, when a rotation has more than the signer in it.
        public var trustBundle: String?
        /// The root a rotation has prepared (`prepare`), and its key.
        public var nextCertificate: String?
        public var nextPrivateKey: String?
        /// The root a rotation retired from signing and still trusts (`activate`, until `finish`).
        public var previousCertificate: String?
    }

    public init(trustDomain: String, joinTokenKey: String, authority: Authority?) {
        self.trustDomain = trustDomain
        self.joinTokenKey = joinTokenKey
        self.authority = authority
    }

    /// A new identity for `trustDomain`: a new join-token key, no CA yet (`addRoot`).
    init(trustDomain: String) {
        self.init(trustDomain: trustDomain, joinTokenKey: Self.newJoinTokenKey(), authority: nil)
    }

    /// 32 random bytes, in hex.
    static func newJoinTokenKey() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Hex.encode($0) }
    }

    /// Refused, naming both, when the record belongs to another trust domain than `expected`:
    /// "`owner` identities belong to trust domain ..., not ...`hint`".
    func check(trustDomain expected: String, owner: String, hint: String) throws {
        guard trustDomain == expected else {
            throw IdentityError(.invalidIdentity, "\(owner) identities belong to trust domain '\(trustDomain)', not '\(expected)'\(hint)")
        }
    }

    /// Makes the control plane's own root CA.
    mutating func addRoot(now: Date) throws {
        let root = try CertificateAuthority.createRoot(trustDomain: trustDomain, now: now)
        authority = Authority(certificate: try Self.pem([root.certificate]), privateKey: try root.privateKeyPEM())
    }

    /// The record of `state` under this record's trust domain and key.
    func with(_ state: WorkloadAuthority.RootState) throws -> IdentityRecord {
        let signer = state.signer
        var copy = self
        copy.authority = Authority(
            certificate: try Self.pem([signer.certificate]), privateKey: try signer.privateKeyPEM(),
            trustBundle: signer.trustBundle == [signer.certificate] ? nil : try Self.pem(signer.trustBundle),
            nextCertificate: try state.pending.map { try Self.pem([$0.certificate]) }, nextPrivateKey: try state.pending?.privateKeyPEM(),
            previousCertificate: try state.previous.map { try Self.pem([$0]) })
        return copy
    }

    /// The join tokens under the record's key; `source` names where it was read, for the error.
    func joinTokens(source: String) throws -> JoinTokens {
        guard let bytes = Hex.decode(joinTokenKey), bytes.count == 32 else {
            throw IdentityError(.invalidCertificate, "\(source): the join-token key is not 32 bytes in hex")
        }
        return JoinTokens(key: SymmetricKey(data: bytes))
    }

    /// The signing CA, the prepared root and the retired one, as the record keeps them
    /// (`operatorCA`, when given, signs instead of the record's own CA).
    func rootState(operatorCA: CertificateAuthority?, source: String) throws -> WorkloadAuthority.RootState {
        if let operatorCA { return WorkloadAuthority.RootState(signer: operatorCA) }
        guard let authority else { throw IdentityError(.invalidCertificate, "\(source) holds no certificate authority") }
        do {
            let signer = try CertificateAuthority(
                trustDomain: trustDomain, certificatePEM: authority.certificate, privateKeyPEM: authority.privateKey, trustBundlePEM: authority.trustBundle)
            var pending: CertificateAuthority?
            if let next = authority.nextCertificate, let nextKey = authority.nextPrivateKey {
                pending = try CertificateAuthority(trustDomain: trustDomain, certificatePEM: next, privateKeyPEM: nextKey, trustBundlePEM: authority.trustBundle)
            }
            let previous = try authority.previousCertificate.map { try Certificate(pemEncoded: $0) }
            return WorkloadAuthority.RootState(signer: signer, pending: pending, previous: previous)
        } catch let error as IdentityError {
            throw IdentityError(error.kind, "\(source): \(error.message)")
        } catch {
            throw IdentityError(.invalidCertificate, "\(source): \(error)")
        }
    }

    static func pem(_ certificates: [Certificate]) throws -> String {
        try certificates.map { try $0.serializeAsPEM().pemString }.joined(separator: "\n") + "\n"
    }
}
