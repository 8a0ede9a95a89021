import Foundation
import HeddleCore
import NIOCore
import NIOSSL

/// TLS termination on a gateway listener, for clients outside the mesh: the operator's
/// certificates, the one served chosen by the name the client asks for (SNI) — exact names
/// first, then `*.domain` wildcards, else the first certificate. The files are read once, when
/// the listener is bound.
enum GatewayTLS {
    struct Certificate {
        let hosts: [String]
        let chain: [NIOSSLCertificateSource]
        let key: NIOSSLPrivateKeySource
    }

    static let tls12CipherSuites = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    /// The versions a listener of `spec` accepts, in words, for the logs of refused clients.
    static func versionWanted(_ spec: GatewayTLSSpec) -> String {
        spec.minimumVersion == .tls13 ? "TLS 1.3" : "TLS 1.2 or 1.3"
    }

    /// The server context for `spec`; throws a `ProxyStartError` naming the listener, the file
    /// and what is wrong with it.
    static func context(_ spec: GatewayTLSSpec, listener: String) throws -> NIOSSLContext {
        var certificates: [Certificate] = []
        for entry in spec.certificates {
            let chain: [NIOSSLCertificate]
            do {
                chain = try NIOSSLCertificate.fromPEMFile(entry.certificate)
            } catch {
                throw ProxyStartError(message: "listener \(listener): cannot read the certificate \(entry.certificate) as PEM: \(error)")
            }
            guard !chain.isEmpty else { throw ProxyStartError(message: "listener \(listener): \(entry.certificate) holds no certificate") }
            let key: NIOSSLPrivateKey
            do {
                key = try NIOSSLPrivateKey(file: entry.privateKey, format: .pem)
            } catch {
                throw ProxyStartError(message: "listener \(listener): cannot read the private key \(entry.privateKey) as PEM: \(error)")
            }
            // A context of its own checks that the key belongs to the certificate (an SNI override
            // would only find out in a client's handshake).
            do {
                _ = try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key)))
            } catch {
                throw ProxyStartError(message: "listener \(listener): the private key \(entry.privateKey) does not belong to \(entry.certificate) (\(error))")
            }
            certificates.append(Certificate(hosts: entry.hosts, chain: chain.map { .certificate($0) }, key: .privateKey(key)))
        }
        guard let first = certificates.first else { throw ProxyStartError(message: "listener \(listener): tls needs a certificate") }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: first.chain, privateKey: first.key)
        configuration.minimumTLSVersion = spec.minimumVersion == .tls13 ? .tlsv13 : .tlsv12
        // TLS 1.2 with forward secrecy and AEAD only (no CBC: LUCKY13; no RSA key transport),
        // as Mozilla's "intermediate" profile; TLS 1.3's suites are all AEAD.
        configuration.cipherSuites = Self.tls12CipherSuites
        // HTTP/2 for clients that offer it; the listener's protocol detection reads what follows.
        configuration.applicationProtocols = ["h2", "http/1.1"]
        if certificates.count > 1 || first.hosts.contains(where: { $0.hasPrefix("*.") }) {
            let table = certificates
            configuration.sslContextCallback = { values, promise in
                var override = NIOSSLContextConfigurationOverride()
                if let chosen = choose(values.serverHostname, from: table), chosen.hosts != table[0].hosts {
                    override.certificateChain = chosen.chain
                    override.privateKey = chosen.key
                }
                promise.succeed(override)
            }
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw ProxyStartError(message: "listener \(listener): the certificates cannot be used for TLS (does each key match its certificate?): \(error)")
        }
    }

    /// The certificate for `host`: an exact name, else the most specific wildcard, else the first.
    static func choose(_ host: String?, from certificates: [Certificate]) -> Certificate? {
        guard let host = host?.lowercased() else { return certificates.first }
        if let exact = certificates.first(where: { $0.hosts.contains(host) }) { return exact }
        if let dot = host.firstIndex(of: ".") {
            let wildcard = "*" + host[dot...]
            if let matched = certificates.first(where: { $0.hosts.contains(wildcard) }) { return matched }
        }
        return certificates.first
    }
}
