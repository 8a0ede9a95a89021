import Foundation
import HeddleIdentity
import NIOConcurrencyHelpers
import NIOSSL
import SwiftASN1
import X509

/// The proxy's workload identity for mutual TLS between proxies: its certificate chain and key,
/// and the trust bundle it verifies peers against, made into the TLS contexts new connections
/// use. The sidecar installs new credentials when its certificate is renewed or the trust bundle
/// changes; connections already open keep the ones they were made with, so nothing is dropped.
public final class MeshTLS: Sendable {
    /// One installed set of credentials, read once per new connection.
    struct Credentials: Sendable {
        let identity: SPIFFEID
        let notBefore: Date
        let notAfter: Date
        let chainPEM: String
        let bundlePEM: String
        let serverContext: NIOSSLContext
        let clientContext: NIOSSLContext
        let verifier: PeerVerifier
    }

    private let installed = NIOLockedValueBox<Credentials?>(nil)
    /// The time peers' certificates are checked at (injected by tests).
    let clock: @Sendable () -> Date

    public init(clock: @escaping @Sendable () -> Date = { Date() }) {
        self.clock = clock
    }

    /// This proxy's identity, once it has credentials.
    public var identity: SPIFFEID? { installed.withLockedValue { $0?.identity } }

    var credentials: Credentials? { installed.withLockedValue { $0 } }

    /// Installs a certificate chain (leaf first, PEM), its private key (PEM) and the trust
    /// bundle (PEM roots) for every connection made from now on. Throws, naming the problem,
    /// when they cannot be read, the leaf is not a workload identity, or the key does not match.
    public func install(chainPEM: String, keyPEM: String, bundlePEM: String) throws(IdentityError) {
        let credentials = try Self.credentials(chainPEM: chainPEM, keyPEM: keyPEM, bundlePEM: bundlePEM)
        installed.withLockedValue { $0 = credentials }
    }

    static func credentials(chainPEM: String, keyPEM: String, bundlePEM: String) throws(IdentityError) -> Credentials {
        let leaf: Certificate
        let roots: [Certificate]
        do {
            let documents = try PEMDocument.parseMultiple(pemString: chainPEM)
            guard let first = documents.first else { throw IdentityError(.invalidCertificate, "the certificate chain holds no certificate") }
            leaf = try Certificate(pemDocument: first)
            roots = try PEMDocument.parseMultiple(pemString: bundlePEM).map { try Certificate(pemDocument: $0) }
        } catch let error as IdentityError {
            throw error
        } catch {
            throw IdentityError(.invalidCertificate, "the workload certificate or trust bundle cannot be read: \(error)")
        }
        guard !roots.isEmpty else { throw IdentityError(.invalidCertificate, "the trust bundle holds no certificate") }
        let identity: SPIFFEID
        do {
            let names = try leaf.extensions.subjectAlternativeNames
            let uri = (names.map(Array.init) ?? []).compactMap { name -> String? in
                if case .uniformResourceIdentifier(let uri) = name { return uri }
                return nil
            }.first
            guard let uri else { throw IdentityError(.invalidCertificate, "the workload certificate names no SPIFFE ID") }
            let named = try SPIFFEID(parsing: uri)
            identity = try PeerVerifier.identity(of: leaf, trustDomain: named.trustDomain)
        } catch let error as IdentityError {
            throw IdentityError(.invalidCertificate, "the workload certificate is not a workload identity: \(error.message)")
        } catch {
            throw IdentityError(.invalidCertificate, "the workload certificate's names cannot be read: \(error)")
        }
        do {
            let chain = try NIOSSLCertificate.fromPEMBytes(Array(chainPEM.utf8)).map(NIOSSLCertificateSource.certificate)
            let key = NIOSSLPrivateKeySource.privateKey(try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem))
            let trust = NIOSSLTrustRoots.certificates(try NIOSSLCertificate.fromPEMBytes(Array(bundlePEM.utf8)))
            var server = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: key)
            var client = TLSConfiguration.makeClientConfiguration()
            client.certificateChain = chain
            client.privateKey = key
            server.minimumTLSVersion = .tlsv13
            client.minimumTLSVersion = .tlsv13
            // Both sides present and demand a certificate; who it names is checked by the
            // verification callbacks (SPIFFE rules, not host names).
            server.certificateVerification = .noHostnameVerification
            client.certificateVerification = .noHostnameVerification
            server.trustRoots = trust
            client.trustRoots = trust
            let serverContext = try NIOSSLContext(configuration: server)
            let clientContext = try NIOSSLContext(configuration: client)
            return Credentials(
                identity: identity, notBefore: leaf.notValidBefore, notAfter: leaf.notValidAfter, chainPEM: chainPEM, bundlePEM: bundlePEM,
                serverContext: serverContext, clientContext: clientContext,
                verifier: PeerVerifier(trustDomain: identity.trustDomain, trustBundle: roots))
        } catch {
            throw IdentityError(.invalidCertificate, "the workload certificate, key or trust bundle cannot be used for TLS (does the key match the certificate?): \(error)")
        }
    }
}
