import Crypto
import Foundation
import HeddleAPI
@testable import HeddleControlPlane
import HeddleIdentity
import SwiftASN1
import Testing
import X509

/// The identity replicas share through the store (etcd keeps it as `MemoryStore(keepsIdentity:)`
/// does): one CA and one join-token key for every replica, seeded from a data directory, a
/// root rotation followed by every replica, and `store migrate` carrying it both ways.
@Suite("shared identity")
struct SharedIdentityTests {
    static func scratch() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("heddle-shared-identity-\(UUID().uuidString)").path
    }

    @Test("Replicas starting on one store sign with one CA, and a token from one is honoured by the other")
    func replicasShareOneAuthority() async throws {
        let store = MemoryStore(keepsIdentity: true)
        let a = try await StoreIdentity.load(store: store, directory: Self.scratch(), trustDomain: "mesh.test")
        let b = try await StoreIdentity.load(store: store, directory: Self.scratch(), trustDomain: "mesh.test")
        #expect(a.authority.certificate == b.authority.certificate)
        let token = try a.token(TokenRequest(service: "web")).token
        let signed = try await b.certificate(CertificateRequest(csr: try APIIdentityTests.csr(P256.Signing.PrivateKey()), token: token))
        #expect(signed.identity == "spiffe://mesh.test/service/web")
        let chain = try PEMDocument.parseMultiple(pemString: signed.certificateChain).map { try Certificate(pemDocument: $0) }
        #expect(chain.first?.issuer == a.authority.certificate.subject)
        // Replicas starting at the same moment on an empty store end with one CA between them.
        let fresh = MemoryStore(keepsIdentity: true)
        async let c = StoreIdentity.load(store: fresh, directory: Self.scratch(), trustDomain: "mesh.test")
        async let d = StoreIdentity.load(store: fresh, directory: Self.scratch(), trustDomain: "mesh.test")
        let (first, second) = try await (c, d)
        #expect(first.authority.certificate == second.authority.certificate)
        // Another trust domain is refused, naming both.
        await #expect { try await StoreIdentity.load(store: store, directory: Self.scratch(), trustDomain: "other.test") } throws: {
            "\($0)".contains("the store's identities belong to trust domain 'mesh.test', not 'other.test'")
        }
    }

    @Test("A store without an identity takes the data directory's: the CA and the tokens it gave out stay good")
    func aDataDirectorySeedsTheStore() async throws {
        let directory = Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let single = try IdentityFiles.load(directory: directory, trustDomain: "mesh.test")
        let token = try single.token(TokenRequest(service: "api")).token
        let store = MemoryStore(keepsIdentity: true)
        let replica = try await StoreIdentity.load(store: store, directory: directory, trustDomain: "mesh.test")
        #expect(replica.authority.certificate == single.authority.certificate)
        let signed = try await replica.certificate(CertificateRequest(csr: try APIIdentityTests.csr(P256.Signing.PrivateKey()), token: token))
        #expect(signed.identity == "spiffe://mesh.test/service/api")
        // Once the store has one, another directory's CA does not replace it.
        let other = Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: other) }
        _ = try IdentityFiles.load(directory: other, trustDomain: "mesh.test")
        let second = try await StoreIdentity.load(store: store, directory: other, trustDomain: "mesh.test")
        #expect(second.authority.certificate == single.authority.certificate)
    }

    @Test("A root rotation's phases, run through either replica, are followed by the other; a stale write is refused")
    func rotationReachesEveryReplica() async throws {
        let store = MemoryStore(keepsIdentity: true)
        let a = try await StoreIdentity.load(store: store, directory: Self.scratch(), trustDomain: "mesh.test")
        let b = try await StoreIdentity.load(store: store, directory: Self.scratch(), trustDomain: "mesh.test")
        let old = a.authority.certificate

        #expect(try await a.rotate(.prepare).rotation == "prepared")
        #expect(b.status().rotation == "steady", "B has not read the store yet")
        try await b.refresh()
        #expect(b.status().rotation == "prepared")
        #expect(b.authority.trustBundle.count == 2, "B trusts the new root too")

        // B runs the next phase on the rotation as the store holds it.
        let activated = try await b.rotate(.activate)
        #expect(activated.rotation == "activated" && b.authority.certificate != old)
        try await a.refresh()
        #expect(a.authority.certificate == b.authority.certificate, "A signs with the new root")

        // A phase run on what the store no longer holds (another replica went on) is refused.
        let kept = try #require(try await StoreIdentity.read(from: store))
        _ = try await StoreIdentity.write(kept.record, to: store, expectedRevision: kept.revision)
        await #expect { _ = try await StoreIdentity.write(kept.record, to: store, expectedRevision: kept.revision) } throws: { error in
            if case StoreError.conflict = error { true } else { false }
        }
        #expect(try await a.rotate(.finish).rotation == "steady")
        try await b.refresh()
        #expect(b.status().rotation == "steady" && b.authority.trustBundle == [b.authority.certificate])
        // Out of order: named.
        await #expect { _ = try await b.rotate(.activate) } throws: { "\($0)".contains("nothing to activate (steady): run prepare first") }
        // A restart resumes from the store.
        let restarted = try await StoreIdentity.load(store: store, directory: Self.scratch(), trustDomain: "mesh.test")
        #expect(restarted.authority.certificate == b.authority.certificate)
    }

    @Test("A rotation kept in the data directory resumes where it stood after a restart")
    func directoryRotationSurvivesARestart() async throws {
        let directory = Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try IdentityFiles.load(directory: directory, trustDomain: "mesh.test")
        // A start writes nothing that is already there (ca.pem is written by replacing the file).
        let inode = { try FileManager.default.attributesOfItem(atPath: "\(directory)/ca.pem")[.systemFileNumber] as? Int }
        let before = try inode()
        _ = try IdentityFiles.load(directory: directory, trustDomain: "mesh.test")
        #expect(try inode() == before)
        _ = try await first.rotate(.prepare)
        #expect(try IdentityFiles.load(directory: directory, trustDomain: "mesh.test").status().rotation == "prepared")
        _ = try await first.rotate(.activate)
        let second = try IdentityFiles.load(directory: directory, trustDomain: "mesh.test")
        #expect(second.status().rotation == "activated" && second.authority.certificate == first.authority.certificate)
        _ = try await second.rotate(.finish)
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/trust-bundle.pem") && !FileManager.default.fileExists(atPath: "\(directory)/ca-previous.pem"))
        #expect(try IdentityFiles.load(directory: directory, trustDomain: "mesh.test").status().rotation == "steady")
    }

    @Test("store migrate carries the identity from a data directory into the store and back, and never over another")
    func migrationCarriesTheIdentity() async throws {
        let directory = Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let single = try IdentityFiles.load(directory: directory, trustDomain: "mesh.test")
        let source = MemoryStore()
        _ = try await source.putResource(kind: "Service", name: "users", document: "kind: Service", expectedRevision: 0)
        let shared = MemoryStore(keepsIdentity: true)
        let there = try await StoreMigration.copy(from: source, to: shared, identity: (.directory(directory), .store(shared)))
        #expect(there.resources == 1 && there.identity)
        let kept = try #require(try await StoreIdentity.read(from: shared))
        #expect(kept.record == (try IdentityFiles.record(in: directory)))
        let replica = try await StoreIdentity.load(store: shared, directory: Self.scratch(), trustDomain: "mesh.test")
        #expect(replica.authority.certificate == single.authority.certificate)

        // Back into a new data directory: the same files.
        let back = Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: back) }
        let returned = try await StoreMigration.copy(from: shared, to: MemoryStore(), identity: (.store(shared), .directory(back)))
        #expect(returned.identity)
        #expect(try IdentityFiles.load(directory: back, trustDomain: "mesh.test").authority.certificate == single.authority.certificate)

        // A destination that keeps another CA is refused before anything is written.
        let elsewhere = Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: elsewhere) }
        _ = try IdentityFiles.load(directory: elsewhere, trustDomain: "mesh.test")
        let empty = MemoryStore()
        await #expect { _ = try await StoreMigration.copy(from: shared, to: empty, identity: (.store(shared), .directory(elsewhere))) } throws: {
            "\($0)".contains("already keeps another certificate authority")
        }
        #expect(try await empty.resources(kind: nil).isEmpty)
    }
}
