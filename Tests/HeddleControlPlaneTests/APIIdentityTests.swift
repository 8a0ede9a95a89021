import Crypto
import Foundation
import HeddleAPI
import HeddleControlPlane
import HeddleIdentity
import Hummingbird
import HummingbirdTesting
import SwiftASN1
import Synchronization
import Testing
import X509

/// Join tokens and certificate signing over the API.
@Suite("API identity")
struct APIIdentityTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    /// A workload authority whose clock the test moves.
    static func authority(clock: Clock) throws -> WorkloadAuthority {
        let ca = try CertificateAuthority.createRoot(trustDomain: "mesh.test", now: start)
        return WorkloadAuthority(authority: ca, tokens: JoinTokens(key: SymmetricKey(size: .bits256)), now: { clock.now })
    }

    final class Clock: Sendable {
        private let seconds = Mutex<TimeInterval>(0)
        var now: Date { APIIdentityTests.start.addingTimeInterval(seconds.withLock { $0 }) }
        func advance(_ by: TimeInterval) { seconds.withLock { $0 += by } }
    }

    static func csr(_ key: P256.Signing.PrivateKey) throws -> String {
        try CertificateSigningRequest(
            version: .v1, subject: try DistinguishedName { CommonName("proxy") }, privateKey: .init(key),
            attributes: .init(), signatureAlgorithm: .ecdsaWithSHA256
        ).serializeAsPEM().pemString
    }

    @Test("A token lets a proxy get a certificate for its service; the certificate renews itself with the same key")
    func joinAndRenew() async throws {
        let clock = Clock()
        let identity = try Self.authority(clock: clock)
        let controlPlane = try await makeControlPlane()
        try await withAPI(controlPlane, identity: identity) { client in
            let token = try await client.execute(uri: "/v1/tokens", method: .post, headers: jsonHeaders, body: try jsonBody(TokenRequest(service: "web", ttlSeconds: 600))) { response async throws in
                #expect(response.status == .created)
                return try decode(TokenResponse.self, response)
            }
            #expect(token.service == "web" && token.expires == Int64(Self.start.timeIntervalSince1970) + 600)
            let key = P256.Signing.PrivateKey()
            let issued = try await client.execute(uri: "/v1/certificates", method: .post, headers: jsonHeaders, body: try jsonBody(CertificateRequest(csr: try Self.csr(key), token: token.token))) { response async throws in
                #expect(response.status == .created)
                return try decode(CertificateResponse.self, response)
            }
            #expect(issued.identity == "spiffe://mesh.test/service/web")
            #expect(issued.notAfter == Int64(Self.start.timeIntervalSince1970) + 86_400)
            let chain = try PEMDocument.parseMultiple(pemString: issued.certificateChain).map { try Certificate(pemDocument: $0) }
            let bundle = try PEMDocument.parseMultiple(pemString: issued.trustBundle).map { try Certificate(pemDocument: $0) }
            #expect(try await PeerVerifier(trustDomain: "mesh.test", trustBundle: bundle).verify(chain: chain, now: clock.now).service == "web")

            // Twelve hours on, the token has long expired; the current certificate renews, with the same key.
            clock.advance(12 * 3600)
            try await client.execute(uri: "/v1/certificates", method: .post, headers: jsonHeaders, body: try jsonBody(CertificateRequest(csr: try Self.csr(key), token: token.token))) { response async throws in
                #expect(try apiError(response, .forbidden).message.contains("expired"))
            }
            let renewed = try await client.execute(uri: "/v1/certificates", method: .post, headers: jsonHeaders, body: try jsonBody(CertificateRequest(csr: try Self.csr(key), currentCertificate: issued.certificateChain))) { response async throws in
                #expect(response.status == .created)
                return try decode(CertificateResponse.self, response)
            }
            #expect(renewed.identity == issued.identity && renewed.notAfter == issued.notAfter + 12 * 3600)
            // A new key needs a token: the current certificate does not vouch for it.
            try await client.execute(uri: "/v1/certificates", method: .post, headers: jsonHeaders, body: try jsonBody(CertificateRequest(csr: try Self.csr(P256.Signing.PrivateKey()), currentCertificate: issued.certificateChain))) { response async throws in
                #expect(try apiError(response, .forbidden).message.contains("must keep the key"))
            }
            // Once the certificate has expired, it renews nothing.
            clock.advance(13 * 3600)
            try await client.execute(uri: "/v1/certificates", method: .post, headers: jsonHeaders, body: try jsonBody(CertificateRequest(csr: try Self.csr(key), currentCertificate: issued.certificateChain))) { response async throws in
                #expect(try apiError(response, .forbidden).message.contains("expired at"))
            }
            try await client.execute(uri: "/v1/trust-bundle", method: .get) { response async throws in
                #expect(response.status == .ok && String(buffer: response.body).hasPrefix("-----BEGIN CERTIFICATE-----"))
            }
        }
    }

    @Test("Requests that prove nothing, or are malformed, are refused with the reason")
    func refusals() async throws {
        let identity = try Self.authority(clock: Clock())
        let controlPlane = try await makeControlPlane()
        try await withAPI(controlPlane, identity: identity) { client in
            let csr = try Self.csr(P256.Signing.PrivateKey())
            let cases: [(CertificateRequest, HTTPResponse.Status, String)] = [
                (CertificateRequest(csr: csr), .forbidden, "give a join token"),
                (CertificateRequest(csr: csr, token: "hjt1.abc.def"), .forbidden, "not issued by this control plane"),
                (CertificateRequest(csr: "not pem", token: "x"), .badRequest, "csr: not a PEM certificate signing request"),
                (CertificateRequest(csr: csr, currentCertificate: "garbage"), .badRequest, "currentCertificate: not PEM certificates"),
                (CertificateRequest(csr: csr, token: "a", currentCertificate: "b"), .badRequest, "not both"),
            ]
            for (request, status, reason) in cases {
                try await client.execute(uri: "/v1/certificates", method: .post, headers: jsonHeaders, body: try jsonBody(request)) { response async throws in
                    #expect(try apiError(response, status).message.contains(reason))
                }
            }
            for bad in [TokenRequest(service: "Not_Valid!"), TokenRequest(service: "web", ttlSeconds: 0), TokenRequest(service: "web", ttlSeconds: 100_000)] {
                try await client.execute(uri: "/v1/tokens", method: .post, headers: jsonHeaders, body: try jsonBody(bad)) { response async throws in
                    #expect(try apiError(response, .badRequest).code == "invalid")
                }
            }
        }
    }

    @Test("The data directory keeps the CA and the token key: a restart signs with the same root and honours earlier tokens")
    func filesSurviveARestart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("heddle-identity-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try IdentityFiles.load(directory: directory, trustDomain: "mesh.test")
        let token = try first.token(TokenRequest(service: "web")).token
        let second = try IdentityFiles.load(directory: directory, trustDomain: "mesh.test")
        #expect(second.authority.certificate == first.authority.certificate)
        #expect(second.authority.trustBundle == first.authority.trustBundle)
        let signed = try await second.certificate(CertificateRequest(csr: try Self.csr(P256.Signing.PrivateKey()), token: token))
        #expect(signed.identity == "spiffe://mesh.test/service/web")
        let mode = try FileManager.default.attributesOfItem(atPath: "\(directory)/ca-key.pem")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect { try IdentityFiles.load(directory: directory, trustDomain: "other.test") } throws: { "\($0)".contains("belong to trust domain 'mesh.test'") }
    }
}
