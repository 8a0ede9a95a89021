import Crypto
import Foundation
import HeddleIdentity
import SwiftASN1
import X509


/// Where the control plane keeps its certificate authority and join-token key: in its data
/// directory, created on first start — `ca.pem`, `ca-key.pem` and `join-token.key` (mode 0600),
/// and `trust-domain` — or, for an operator's CA, read from the files given.
public enum IdentityFiles {
    /// An operator's CA: the paths of its PEM files.
    public struct OperatorCA: Sendable {
        public var certificateFile: String
        public var privateKeyFile: String
        public var intermediatesFile: String?
        public var trustBundleFile: String?

        public init(certificateFile: String, privateKeyFile: String, intermediatesFile: String? = nil, trustBundleFile: String? = nil) {
            self.certificateFile = certificateFile
            self.privateKeyFile = privateKeyFile
            self.intermediatesFile = intermediatesFile
            self.trustBundleFile = trustBundleFile
        }
    }

    /// The workload authority of the data directory `directory`. Refused, naming the file and
    /// the reason, when a file cannot be read or written, or the directory's CA belongs to
    /// another trust domain.
    /// `certificateLifetime`: how long the workload certificates it signs live.
    public static func load(
        directory: String, trustDomain: String, operatorCA: OperatorCA? = nil, certificateLifetime: Duration = .seconds(86_400), now: Date = Date()
    ) throws -> WorkloadAuthority {
        let fileManager = FileManager.default
        try fileManager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let domainFile = "\(directory)/trust-domain"
        if let recorded = try? String(contentsOfFile: domainFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !recorded.isEmpty, recorded != trustDomain {
            throw IdentityError(.invalidIdentity, "the data directory's identities belong to trust domain '\(recorded)', not '\(trustDomain)' (\(domainFile))")
        }
        let authority: CertificateAuthority
        var pending: CertificateAuthority?
        var previous: Certificate?
        if let operatorCA {
            authority = try CertificateAuthority(
                trustDomain: trustDomain, certificatePEM: try read(operatorCA.certificateFile), privateKeyPEM: try read(operatorCA.privateKeyFile),
                intermediatesPEM: try operatorCA.intermediatesFile.map(read) ?? "", trustBundlePEM: try operatorCA.trustBundleFile.map(read))
        } else {
            let certificateFile = "\(directory)/ca.pem"
            let keyFile = "\(directory)/ca-key.pem"
            if fileManager.fileExists(atPath: certificateFile) {
                // A root rotation under way (`WorkloadAuthority+Rotation`) resumes as it stood.
                let bundleFile = "\(directory)/trust-bundle.pem"
                let bundle = fileManager.fileExists(atPath: bundleFile) ? try read(bundleFile) : nil
                authority = try CertificateAuthority(trustDomain: trustDomain, certificatePEM: try read(certificateFile), privateKeyPEM: try read(keyFile), trustBundlePEM: bundle)
                if fileManager.fileExists(atPath: "\(directory)/ca-next.pem") {
                    pending = try CertificateAuthority(
                        trustDomain: trustDomain, certificatePEM: try read("\(directory)/ca-next.pem"), privateKeyPEM: try read("\(directory)/ca-next-key.pem"),
                        trustBundlePEM: bundle)
                }
                if fileManager.fileExists(atPath: "\(directory)/ca-previous.pem") {
                    previous = try Certificate(pemEncoded: try read("\(directory)/ca-previous.pem"))
                }
            } else {
                authority = try CertificateAuthority.createRoot(trustDomain: trustDomain, now: now)
                try PrivateFile.write(try authority.privateKeyPEM(), to: keyFile)
                try write(try authority.certificate.serializeAsPEM().pemString + "\n", to: certificateFile)
            }
        }
        let tokenFile = "\(directory)/join-token.key"
        let key: SymmetricKey
        if let hex = try? String(contentsOfFile: tokenFile, encoding: .utf8), let bytes = decodeHex(hex.trimmingCharacters(in: .whitespacesAndNewlines)), bytes.count == 32 {
            key = SymmetricKey(data: bytes)
        } else if fileManager.fileExists(atPath: tokenFile) {
            throw IdentityError(.invalidCertificate, "\(tokenFile) does not hold a 32-byte key in hex; remove it to make a new one (tokens given out so far stop working)")
        } else {
            key = SymmetricKey(size: .bits256)
            try PrivateFile.write(key.withUnsafeBytes { Hex.encode($0) } + "\n", to: tokenFile)
        }
        try write(trustDomain + "\n", to: domainFile)
        return WorkloadAuthority(
            authority: authority, tokens: JoinTokens(key: key), certificateLifetime: certificateLifetime,
            directory: operatorCA == nil ? directory : nil, pending: pending, previous: previous)
    }

    private static func read(_ path: String) throws -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw IdentityError(.invalidCertificate, "cannot read \(path): \(error.localizedDescription)")
        }
    }

    private static func write(_ text: String, to path: String) throws {
        do {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw IdentityError(.invalidCertificate, "cannot write \(path): \(error.localizedDescription)")
        }
    }

    private static func decodeHex(_ text: String) -> [UInt8]? {
        guard text.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}
