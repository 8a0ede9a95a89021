import Foundation
import HeddleAPI
import HeddleIdentity
import SwiftASN1
import Synchronization
import X509

/// Root rotation of the control plane's own CA, in three phases an operator runs in order,
/// while traffic flows (proxies fetch the trust bundle every few seconds and renew when the
/// signer changes):
///
/// 1. `prepare`: a new root is made and added to the trust bundle; the old one still signs.
/// 2. `activate`: the new root signs; proxies see it and renew under it (the old root is still
///    trusted, so certificates of both meet each other).
/// 3. `finish`: the old root leaves the trust bundle.
///
/// Each phase is kept in the data directory before it is answered (`ca-next.pem`,
/// `ca-next-key.pem`, `ca-previous.pem`, `trust-bundle.pem`), so a restart resumes where the
/// rotation stood.
extension WorkloadAuthority {
    public enum RotationPhase: String, CaseIterable, Sendable {
        case prepare
        case activate
        case finish
    }

    /// Where the rotation stands: `steady`, `prepared` or `activated`.
    public func status() -> CAStatus {
        state.withLock { state in
            let phase = state.pending != nil ? "prepared" : state.previous != nil ? "activated" : "steady"
            return CAStatus(
                trustDomain: state.signer.trustDomain, signer: Self.summary(state.signer.certificate),
                trustBundle: state.signer.trustBundle.map(Self.summary), rotation: phase,
                pending: state.pending.map { Self.summary($0.certificate) })
        }
    }

    /// Runs `phase`; `conflict` when it is not the next one, `invalid` for an operator's CA.
    public func rotate(_ phase: RotationPhase) throws(ControlPlaneError) -> CAStatus {
        guard let directory else {
            throw ControlPlaneError(.invalid, "this control plane signs with an operator's CA (--ca-cert): rotate it in your PKI and restart with the new files")
        }
        do {
            try state.withLock { (state: inout RootState) throws(ControlPlaneError) in
                try Self.apply(phase, to: &state, directory: directory, now: now())
            }
        }
        return status()
    }

    private static func apply(_ phase: RotationPhase, to state: inout RootState, directory: String, now: Date) throws(ControlPlaneError) {
        let stage = state.pending != nil ? "prepared" : state.previous != nil ? "activated" : "steady"
        do {
            switch phase {
            case .prepare:
                guard stage == "steady" else { throw ControlPlaneError(.conflict, "a rotation is under way (\(stage)); \(stage == "prepared" ? "activate" : "finish") it first") }
                let next = try CertificateAuthority.createRoot(trustDomain: state.signer.trustDomain, now: now)
                let bundle = state.signer.trustBundle + [next.certificate]
                try PrivateFile.write(try next.privateKeyPEM(), to: "\(directory)/ca-next-key.pem")
                try write(pem([next.certificate]), to: "\(directory)/ca-next.pem")
                try write(pem(bundle), to: "\(directory)/trust-bundle.pem")
                state.signer = state.signer.trusting(bundle)
                state.pending = next.trusting(bundle)
            case .activate:
                guard let next = state.pending else { throw ControlPlaneError(.conflict, "nothing to activate (\(stage)): run prepare first") }
                try write(pem([state.signer.certificate]), to: "\(directory)/ca-previous.pem")
                try PrivateFile.write(try next.privateKeyPEM(), to: "\(directory)/ca-key.pem")
                try write(pem([next.certificate]), to: "\(directory)/ca.pem")
                try? FileManager.default.removeItem(atPath: "\(directory)/ca-next.pem")
                try? FileManager.default.removeItem(atPath: "\(directory)/ca-next-key.pem")
                state.previous = state.signer.certificate
                state.signer = next
                state.pending = nil
            case .finish:
                guard let previous = state.previous, state.pending == nil else {
                    throw ControlPlaneError(.conflict, "nothing to finish (\(stage)): \(stage == "prepared" ? "activate first" : "run prepare, then activate, first")")
                }
                let bundle = state.signer.trustBundle.filter { $0 != previous }
                if bundle == [state.signer.certificate] {
                    try? FileManager.default.removeItem(atPath: "\(directory)/trust-bundle.pem")
                } else {
                    try write(pem(bundle), to: "\(directory)/trust-bundle.pem")
                }
                try? FileManager.default.removeItem(atPath: "\(directory)/ca-previous.pem")
                state.signer = state.signer.trusting(bundle)
                state.previous = nil
            }
        } catch let error as ControlPlaneError {
            throw error
        } catch {
            throw ControlPlaneError(.unavailable, "the rotation could not be kept in \(directory): \(error)")
        }
    }

    static func summary(_ certificate: Certificate) -> CACertificateSummary {
        CACertificateSummary(
            subject: "\(certificate.subject)", keyID: certificate.keyIdentifierHex,
            notAfter: Int64(certificate.notValidAfter.timeIntervalSince1970))
    }

    static func pem(_ certificates: [Certificate]) throws -> String {
        try certificates.map { try $0.serializeAsPEM().pemString }.joined(separator: "\n") + "\n"
    }

    private static func write(_ text: String, to path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
