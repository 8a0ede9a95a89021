import Foundation
import HeddleIdentity

/// Where a control plane on one node keeps its identity (`IdentityRecord`): in its data
/// directory, created on first start — `ca.pem`, `ca-key.pem` and `join-token.key` (mode
/// 0600), `trust-domain`, and while a root rotation is under way `ca-next.pem`,
/// `ca-next-key.pem`, `ca-previous.pem` and `trust-bundle.pem` — or, for an operator's CA, the
/// join-token key there and the CA read from the files given.
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

        /// The CA the files hold.
        func load(trustDomain: String) throws -> CertificateAuthority {
            try CertificateAuthority(
                trustDomain: trustDomain, certificatePEM: try IdentityFiles.read(certificateFile), privateKeyPEM: try IdentityFiles.read(privateKeyFile),
                intermediatesPEM: try intermediatesFile.map(IdentityFiles.read) ?? "", trustBundlePEM: try trustBundleFile.map(IdentityFiles.read))
        }
    }

    /// The workload authority of the data directory `directory`. Refused, naming the file and
    /// the reason, when a file cannot be read or written, or the directory's CA belongs to
    /// another trust domain.
    /// `certificateLifetime`: how long the workload certificates it signs live.
    public static func load(
        directory: String, trustDomain: String, operatorCA: OperatorCA? = nil, certificateLifetime: Duration = .seconds(86_400), now: Date = Date()
    ) throws -> WorkloadAuthority {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var record = try self.record(in: directory) ?? IdentityRecord(trustDomain: trustDomain)
        try checkTrustDomain(of: record, trustDomain, in: directory)
        if operatorCA == nil, record.authority == nil { try record.addRoot(now: now) }
        try save(record, to: directory)
        let state = try record.rootState(operatorCA: try operatorCA?.load(trustDomain: trustDomain), source: directory)
        return WorkloadAuthority(
            state: state, tokens: try record.joinTokens(source: "\(directory)/join-token.key"), certificateLifetime: certificateLifetime,
            keeper: operatorCA == nil ? .directory(directory, record: record) : nil)
    }

    /// What `directory` holds, or nil when it holds no identity yet. `trust-domain` missing
    /// (a directory of an older version) reads as `fallbackTrustDomain`.
    public static func record(in directory: String, fallbackTrustDomain: String = "heddle.local") throws -> IdentityRecord? {
        let fileManager = FileManager.default
        let tokenFile = "\(directory)/join-token.key"
        let certificateFile = "\(directory)/ca.pem"
        let hasKey = fileManager.fileExists(atPath: tokenFile)
        let hasCA = fileManager.fileExists(atPath: certificateFile)
        guard hasKey || hasCA else { return nil }
        let domainFile = "\(directory)/trust-domain"
        let recorded = fileManager.fileExists(atPath: domainFile) ? try read(domainFile).trimmingCharacters(in: .whitespacesAndNewlines) : ""
        var record = IdentityRecord(trustDomain: recorded.isEmpty ? fallbackTrustDomain : recorded, joinTokenKey: "", authority: nil)
        if hasKey {
            record.joinTokenKey = try read(tokenFile).trimmingCharacters(in: .whitespacesAndNewlines)
            guard Hex.decode(record.joinTokenKey)?.count == 32 else {
                throw IdentityError(.invalidCertificate, "\(tokenFile) does not hold a 32-byte key in hex; remove it to make a new one (tokens given out so far stop working)")
            }
        } else {
            record.joinTokenKey = IdentityRecord.newJoinTokenKey()
        }
        if hasCA {
            let optional = { (name: String) throws -> String? in
                fileManager.fileExists(atPath: "\(directory)/\(name)") ? try read("\(directory)/\(name)") : nil
            }
            record.authority = IdentityRecord.Authority(
                certificate: try read(certificateFile), privateKey: try read("\(directory)/ca-key.pem"), trustBundle: try optional("trust-bundle.pem"),
                nextCertificate: try optional("ca-next.pem"), nextPrivateKey: try optional("ca-next-key.pem"), previousCertificate: try optional("ca-previous.pem"))
        }
        return record
    }

    /// Refused, naming both, when `directory`'s record belongs to another trust domain.
    static func checkTrustDomain(of record: IdentityRecord, _ trustDomain: String, in directory: String) throws {
        try record.check(trustDomain: trustDomain, owner: "the data directory's", hint: " (\(directory)/trust-domain)")
    }

    /// Writes `record` into `directory`: the files of its parts, and removes those of the parts
    /// it no longer has (a rotation's files when it ends). Keys are written readable by the
    /// owner only; a file that already holds what it should is left alone (a start rewrites
    /// nothing).
    public static func save(_ record: IdentityRecord, to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let tokenFile = "\(directory)/join-token.key"
        if (try? read(tokenFile).trimmingCharacters(in: .whitespacesAndNewlines)) != record.joinTokenKey {
            try PrivateFile.write(record.joinTokenKey + "\n", to: tokenFile)
        }
        if let authority = record.authority {
            // The retired root first and the prepared one last, so that a crash in between
            // leaves a rotation that a restart can still read.
            try keep(authority.previousCertificate, at: "\(directory)/ca-previous.pem")
            try keep(authority.privateKey, at: "\(directory)/ca-key.pem", secret: true)
            try keep(authority.certificate, at: "\(directory)/ca.pem")
            try keep(authority.trustBundle, at: "\(directory)/trust-bundle.pem")
            try keep(authority.nextPrivateKey, at: "\(directory)/ca-next-key.pem", secret: true)
            try keep(authority.nextCertificate, at: "\(directory)/ca-next.pem")
        }
        try keep(record.trustDomain + "\n", at: "\(directory)/trust-domain")
    }

    private static func keep(_ text: String?, at path: String, secret: Bool = false) throws {
        guard let text else {
            if FileManager.default.fileExists(atPath: path) {
                do {
                    try FileManager.default.removeItem(atPath: path)
                } catch {
                    throw IdentityError(.invalidCertificate, "cannot remove \(path): \(error.localizedDescription)")
                }
            }
            return
        }
        guard (try? String(contentsOfFile: path, encoding: .utf8)) != text else { return }
        if secret { try PrivateFile.write(text, to: path) } else { try write(text, to: path) }
    }

    static func read(_ path: String) throws -> String {
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
}
