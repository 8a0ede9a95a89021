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
/// Each phase is kept before it is answered — in the data directory (`ca-next.pem`,
/// `ca-next-key.pem`, `ca-previous.pem`, `trust-bundle.pem`) or, with replicas, in the shared
/// store — so a restart resumes where the rotation stood, and every replica follows it
/// (`refresh()`), whichever replica ran the phase.
extension WorkloadAuthority {
    public enum RotationPhase: String, CaseIterable, Sendable {
        case prepare
        case activate
        case finish
    }

    /// Where the rotation stands: `steady`, `prepared` or `activated`.
    public func status() -> CAStatus {
        state.withLock { state in
            return CAStatus(
                trustDomain: state.signer.trustDomain, signer: Self.summary(state.signer.certificate),
                trustBundle: state.signer.trustBundle.map(Self.summary), rotation: Self.stage(state),
                pending: state.pending.map { Self.summary($0.certificate) })
        }
    }

    /// Runs `phase`; `conflict` when it is not the next one (or, with replicas, another
    /// replica ran a phase at the same moment), `invalid` for an operator's CA, `unavailable`
    /// when it cannot be kept.
    public func rotate(_ phase: RotationPhase) async throws(ControlPlaneError) -> CAStatus {
        switch keeper {
        case nil:
            throw ControlPlaneError(.invalid, "this control plane signs with an operator's CA (--ca-cert): rotate it in your PKI and restart with the new files")
        case let .directory(directory, record)?:
            try state.withLock { (state: inout RootState) throws(ControlPlaneError) in
                var next = state
                try Self.apply(phase, to: &next, now: now())
                do {
                    try IdentityFiles.save(try record.with(next), to: directory)
                } catch {
                    throw ControlPlaneError(.unavailable, "the rotation could not be kept in \(directory): \(error)")
                }
                state = next
            }
        case let .store(store, record)?:
            // The phase applies to the rotation as the store holds it (another replica may
            // have run the one before), and is written only if nobody wrote in between.
            let (read, revision): (RootState, Int64)
            do {
                guard let kept = try await StoreIdentity.read(from: store) else {
                    throw ControlPlaneError(.unavailable, "the store holds no certificate authority any more")
                }
                read = try kept.record.rootState(operatorCA: nil, source: "the store's identity")
                revision = kept.revision
            } catch let error as ControlPlaneError {
                throw error
            } catch {
                throw ControlPlaneError(.unavailable, "the certificate authority could not be read from the store: \(error)")
            }
            var next = read
            try Self.apply(phase, to: &next, now: now())
            do {
                next.revision = try await StoreIdentity.write(try record.with(next), to: store, expectedRevision: revision)
            } catch StoreError.conflict {
                throw ControlPlaneError(.conflict, "another control plane changed the certificate authority at the same moment: look at `heddle ca status` and run the phase again if it is still due")
            } catch {
                throw ControlPlaneError(.unavailable, "the rotation could not be kept in the store: \(error)")
            }
            adopt(next)
        }
        return status()
    }

    /// With replicas: takes the CA as the store holds it now, when another replica changed it
    /// (a rotation's phase). Called every second or so; proxies see the change at their next
    /// trust-bundle fetch.
    public func refresh() async throws {
        guard case let .store(store, _)? = keeper,
              let kept = try await StoreIdentity.read(from: store, newerThan: state.withLock({ $0.revision }))
        else { return }
        var next = try kept.record.rootState(operatorCA: nil, source: "the store's identity")
        next.revision = kept.revision
        adopt(next)
    }

    /// Takes `next` unless a newer one is already in force.
    private func adopt(_ next: RootState) {
        state.withLock { state in
            if next.revision > state.revision { state = next }
        }
    }

    private static func stage(_ state: RootState) -> String {
        state.pending != nil ? "prepared" : state.previous != nil ? "activated" : "steady"
    }

    /// `phase` applied to `state`: pure, apart from making a key for `prepare`.
    static func apply(_ phase: RotationPhase, to state: inout RootState, now: Date) throws(ControlPlaneError) {
        let stage = stage(state)
        switch phase {
        case .prepare:
            guard stage == "steady" else { throw ControlPlaneError(.conflict, "a rotation is under way (\(stage)); \(stage == "prepared" ? "activate" : "finish") it first") }
            let next: CertificateAuthority
            do {
                next = try CertificateAuthority.createRoot(trustDomain: state.signer.trustDomain, now: now)
            } catch {
                throw ControlPlaneError(.unavailable, "a new root could not be made: \(error)")
            }
            let bundle = state.signer.trustBundle + [next.certificate]
            state.signer = state.signer.trusting(bundle)
            state.pending = next.trusting(bundle)
        case .activate:
            guard let next = state.pending else { throw ControlPlaneError(.conflict, "nothing to activate (\(stage)): run prepare first") }
            state.previous = state.signer.certificate
            state.signer = next
            state.pending = nil
        case .finish:
            guard let previous = state.previous, state.pending == nil else {
                throw ControlPlaneError(.conflict, "nothing to finish (\(stage)): \(stage == "prepared" ? "activate first" : "run prepare, then activate, first")")
            }
            state.signer = state.signer.trusting(state.signer.trustBundle.filter { $0 != previous })
            state.previous = nil
        }
    }

    static func summary(_ certificate: Certificate) -> CACertificateSummary {
        CACertificateSummary(
            subject: "\(certificate.subject)", keyID: certificate.keyIdentifierHex,
            notAfter: Int64(certificate.notValidAfter.timeIntervalSince1970))
    }
}
