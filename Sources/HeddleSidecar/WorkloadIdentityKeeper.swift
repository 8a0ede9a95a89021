import Crypto
import Foundation
import HeddleAPI
import HeddleIdentity
import HeddleProxy
import Logging
import Prometheus
import SwiftASN1
import X509


/// Keeps the sidecar's workload certificate: makes its key (once; it never leaves the
/// directory), joins with a join token, and renews at half-life with jitter using the current
/// certificate, well before it expires. Files in `directory`: `key.pem` (0600), `chain.pem`,
/// `bundle.pem`. A certificate kept there from an earlier run is used, and renewed, without a
/// token. Each certificate kept is installed in `meshTLS`, for the proxy's mutual TLS.
final class WorkloadIdentityKeeper: Sendable {
    private let directory: String
    private let joinToken: String?
    private let client: ControlPlaneClient
    private let logger: Logger
    private let expiry: Gauge
    private let meshTLS: MeshTLS?
    /// How often the trust bundle is fetched (a root rotation reaches the proxy within it).
    private let trustRefreshInterval: Duration

    init(
        directory: String, joinToken: String?, client: ControlPlaneClient, metrics: PrometheusCollectorRegistry, meshTLS: MeshTLS?,
        trustRefreshInterval: Duration = .seconds(30), logger: Logger
    ) {
        self.meshTLS = meshTLS
        self.trustRefreshInterval = trustRefreshInterval
        self.directory = directory
        self.joinToken = joinToken
        self.client = client
        self.logger = logger
        expiry = metrics.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "heddle", metricName: "certificate_expiry_timestamp", unitName: "seconds",
            helpText: "When the proxy's workload certificate expires (seconds since 1970; 0 without one)"))
    }

    var keyFile: String { "\(directory)/key.pem" }
    var chainFile: String { "\(directory)/chain.pem" }
    var bundleFile: String { "\(directory)/bundle.pem" }

    /// Whether `directory` keeps a certificate from an earlier run (it may have expired).
    static func keepsCertificate(in directory: String) -> Bool {
        FileManager.default.fileExists(atPath: "\(directory)/chain.pem") && FileManager.default.fileExists(atPath: "\(directory)/key.pem")
    }

    /// Installs a certificate kept from an earlier run (still valid) for mutual TLS at once, so
    /// a proxy restarted while the control plane is away serves with it from its first request.
    func installKept() {
        guard meshTLS != nil, let current = currentCertificate(), current.leaf.notValidAfter > Date(),
              let pem = try? String(contentsOfFile: keyFile, encoding: .utf8), let key = try? P256.Signing.PrivateKey(pemRepresentation: pem)
        else { return }
        var installed: String?
        install(current.pem, key: key, installed: &installed)
    }

    /// Installs the kept certificate, key and bundle for mutual TLS, when they differ from
    /// what was installed last (`installed`: that chain and bundle).
    private func install(_ chain: String, key: P256.Signing.PrivateKey, installed: inout String?) {
        guard let meshTLS, let bundle = try? String(contentsOfFile: bundleFile, encoding: .utf8), chain + bundle != installed else { return }
        do {
            try meshTLS.install(chainPEM: chain, keyPEM: key.pemRepresentation, bundlePEM: bundle)
            installed = chain + bundle
            logger.info("mutual TLS uses the workload certificate", metadata: ["identity": "\(meshTLS.identity.map { "\($0)" } ?? "?")"])
        } catch {
            logger.error("the workload certificate cannot be used for mutual TLS", metadata: ["error": "\(error)"])
        }
    }
    /// Runs until cancelled.
    func run() async {
        let key: P256.Signing.PrivateKey
        do {
            key = try loadOrMakeKey()
        } catch {
            logger.error("cannot keep the workload key; the proxy runs without a workload identity", metadata: ["directory": "\(directory)", "error": "\(error)"])
            return
        }
        var failures = 0
        var installed: String?
        var jitter: (pem: String, fraction: Double)?
        var nextRefresh = Date()
        var signerChanged = false
        while !Task.isCancelled {
            let current = currentCertificate()
            let now = Date()
            if let current, current.leaf.notValidAfter > now {
                expiry.set(to: current.leaf.notValidAfter.timeIntervalSince1970)
                if now >= nextRefresh {
                    signerChanged = await refreshTrustBundle(leaf: current.leaf)
                    nextRefresh = Date().addingTimeInterval(Double(trustRefreshInterval.components.seconds))
                }
                install(current.pem, key: key, installed: &installed)
                // Renew at half of the time the certificate had left when it was kept (not from
                // its notBefore, which the CA backdates for clock skew), with up to a tenth of
                // jitter so a fleet started together does not renew together; never sooner than a
                // second after it was kept. At once when another CA signs now (a root rotation).
                if jitter?.pem != current.pem { jitter = (current.pem, Double.random(in: 0...0.1)) }
                let kept = current.kept
                let remaining = current.leaf.notValidAfter.timeIntervalSince(kept)
                let renewAt = max(kept.addingTimeInterval(1), kept.addingTimeInterval(remaining * (0.5 + (jitter?.fraction ?? 0))))
                if renewAt > now, failures == 0, !signerChanged {
                    let wake = min(renewAt, nextRefresh)
                    try? await Task.sleep(for: .seconds(max(0.01, wake.timeIntervalSince(now))))
                    continue
                }
                if await obtain(key: key, proof: .certificate(current.pem), what: signerChanged ? "renewed under the new signing CA" : "renewed") {
                    failures = 0
                    signerChanged = false
                } else {
                    failures += 1
                    try? await Task.sleep(for: .seconds(min(30, 0.5 * Double(1 << min(failures, 6)))))
                }
                continue
            }
            guard let joinToken else {
                if current != nil {
                    logger.error("the workload certificate has expired and there is no join token to get a new one; the proxy has no workload identity")
                } else {
                    logger.notice("no join token (--join-token): the proxy runs without a workload identity")
                }
                expiry.set(to: 0)
                return
            }
            if await obtain(key: key, proof: .token(joinToken), what: "issued") {
                failures = 0
            } else {
                failures += 1
                try? await Task.sleep(for: .seconds(min(30, 0.5 * Double(1 << min(failures, 6)))))
            }
        }
    }

    /// Fetches the trust bundle; keeps and installs it when it changed (a root joined or left
    /// it). True when the CA that signs now is not the one that signed `leaf`: the
    /// certificate is renewed at once.
    private func refreshTrustBundle(leaf: Certificate) async -> Bool {
        let fetched: (pem: String, signerKeyID: String?)
        do {
            fetched = try await client.trustBundle()
        } catch {
            logger.debug("could not refresh the trust bundle", metadata: ["error": "\(error)"])
            return false
        }
        let kept = try? String(contentsOfFile: bundleFile, encoding: .utf8)
        if fetched.pem != kept, (try? PEMDocument.parseMultiple(pemString: fetched.pem))?.isEmpty == false {
            do {
                try write(fetched.pem, to: bundleFile)
                logger.notice("trust bundle changed", metadata: ["roots": "\((try? PEMDocument.parseMultiple(pemString: fetched.pem).count) ?? 0)"])
            } catch {
                logger.warning("could not keep the new trust bundle", metadata: ["error": "\(error)"])
            }
        }
        guard let signer = fetched.signerKeyID, let issuer = leaf.authorityKeyIdentifierHex else { return false }
        return issuer != signer.lowercased()
    }

    private enum Proof {
        case token(String)
        case certificate(String)
    }

    /// Asks for a certificate; true when one was issued and kept.
    private func obtain(key: P256.Signing.PrivateKey, proof: Proof, what: String) async -> Bool {
        do {
            let csr = try CertificateSigningRequest(
                version: .v1, subject: try DistinguishedName { CommonName("heddle-proxy") }, privateKey: .init(key),
                attributes: .init(), signatureAlgorithm: .ecdsaWithSHA256
            ).serializeAsPEM().pemString
            let request: CertificateRequest
            switch proof {
            case .token(let token): request = CertificateRequest(csr: csr, token: token)
            case .certificate(let chain): request = CertificateRequest(csr: csr, currentCertificate: chain)
            }
            let issued = try await client.requestCertificate(request)
            try write(issued.trustBundle, to: bundleFile)
            try write(issued.certificateChain, to: chainFile)
            expiry.set(to: Double(issued.notAfter))
            logger.notice("workload certificate \(what)", metadata: ["identity": "\(issued.identity)", "expires": "\(Date(timeIntervalSince1970: TimeInterval(issued.notAfter)))"])
            return true
        } catch {
            logger.warning("could not get a workload certificate; trying again", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// The certificate kept on disk, if it can be read.
    /// `kept`: when it was written (the file's modification time).
    private func currentCertificate() -> (leaf: Certificate, pem: String, kept: Date)? {
        guard let pem = try? String(contentsOfFile: chainFile, encoding: .utf8),
              let leaf = try? PEMDocument.parseMultiple(pemString: pem).first.map({ try Certificate(pemDocument: $0) }),
              let kept = (try? FileManager.default.attributesOfItem(atPath: chainFile))?[.modificationDate] as? Date
        else { return nil }
        return (leaf, pem, kept)
    }

    private func loadOrMakeKey() throws -> P256.Signing.PrivateKey {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if let pem = try? String(contentsOfFile: keyFile, encoding: .utf8) {
            return try P256.Signing.PrivateKey(pemRepresentation: pem)
        }
        let key = P256.Signing.PrivateKey()
        try PrivateFile.write(key.pemRepresentation, to: keyFile, exclusive: true)
        return key
    }

    private func write(_ text: String, to path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
