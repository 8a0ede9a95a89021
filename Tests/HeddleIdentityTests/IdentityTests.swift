import Crypto
import Foundation
import HeddleIdentity
import SwiftASN1
import Testing
import X509

@Suite struct SPIFFEIDTests {
    @Test func readsAndWritesServiceIdentities() throws {
        let id = try SPIFFEID(parsing: "spiffe://mesh.local/service/users-v1")
        #expect(id.trustDomain == "mesh.local" && id.service == "users-v1" && id.uri == "spiffe://mesh.local/service/users-v1")
    }

    @Test(arguments: [
        "http://mesh.local/service/a", "spiffe://Mesh/service/a", "spiffe://mesh/service/", "spiffe://mesh/svc/a",
        "spiffe://mesh/service/a/b", "spiffe:///service/a", "spiffe://mesh/service/..", "spiffe://me sh/service/a",
    ])
    func refusesMalformedOnes(_ text: String) {
        #expect(throws: IdentityError.self) { try SPIFFEID(parsing: text) }
    }
}

@Suite struct CertificateAuthorityTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func request(_ key: P256.Signing.PrivateKey = P256.Signing.PrivateKey(), asking names: [GeneralName] = []) throws -> CertificateSigningRequest {
        let subject = try DistinguishedName { CommonName("whoever") }
        var attributes = CertificateSigningRequest.Attributes()
        if !names.isEmpty {
            attributes.insert(try CertificateSigningRequest.Attribute(ExtensionRequest(extensions: Certificate.Extensions { SubjectAlternativeNames(names) })))
        }
        return try CertificateSigningRequest(version: .v1, subject: subject, privateKey: .init(key), attributes: attributes, signatureAlgorithm: .ecdsaWithSHA256)
    }

    @Test func issuesAWorkloadCertificateThatVerifiesAsItsServiceOnly() async throws {
        let ca = try CertificateAuthority.createRoot(trustDomain: "mesh.local", now: Self.now)
        // Whatever names the request asks for, the certificate names the service it is for.
        let issued = try ca.issue(try Self.request(asking: [.uniformResourceIdentifier("spiffe://mesh.local/service/admin"), .dnsName("evil")]), for: "users", now: Self.now)
        #expect(issued.leaf.notValidAfter.timeIntervalSince(Self.now) == 86_400)
        let names = try #require(try issued.leaf.extensions.subjectAlternativeNames)
        #expect(Array(names) == [.uniformResourceIdentifier("spiffe://mesh.local/service/users")])
        let verifier = PeerVerifier(trustDomain: "mesh.local", trustBundle: ca.trustBundle)
        #expect(try await verifier.verify(chain: [issued.leaf], now: Self.now.addingTimeInterval(3600)) == SPIFFEID(trustDomain: "mesh.local", service: "users"))
    }

    @Test func anExpiredOrNotYetValidCertificateIsRefusedWithItsDate() async throws {
        let ca = try CertificateAuthority.createRoot(trustDomain: "mesh.local", now: Self.now)
        let issued = try ca.issue(try Self.request(), for: "users", now: Self.now, lifetime: .seconds(3600))
        let verifier = PeerVerifier(trustDomain: "mesh.local", trustBundle: ca.trustBundle)
        await #expect { try await verifier.verify(chain: [issued.leaf], now: Self.now.addingTimeInterval(7200)) } throws: { error in
            (error as? IdentityError)?.message.contains("expired at") == true
        }
        await #expect { try await verifier.verify(chain: [issued.leaf], now: Self.now.addingTimeInterval(-3600)) } throws: { error in
            (error as? IdentityError)?.message.contains("is not valid before") == true
        }
    }

    @Test func aCertificateFromAnotherAuthorityIsRefused() async throws {
        let ours = try CertificateAuthority.createRoot(trustDomain: "mesh.local", now: Self.now)
        let theirs = try CertificateAuthority.createRoot(trustDomain: "mesh.local", now: Self.now)
        let forged = try theirs.issue(try Self.request(), for: "users", now: Self.now)
        let verifier = PeerVerifier(trustDomain: "mesh.local", trustBundle: ours.trustBundle)
        await #expect { try await verifier.verify(chain: [forged.leaf], now: Self.now) } throws: { error in
            (error as? IdentityError)?.message.contains("not signed by this mesh's certificate authority") == true
        }
    }

    /// A leaf signed by our root, with the given extensions: what a compromised or careless CA
    /// might produce.
    static func forged(by root: (Certificate, P256.Signing.PrivateKey), @ExtensionsBuilder extensions: () throws -> Result<Certificate.Extensions, any Error>) throws -> Certificate {
        let key = P256.Signing.PrivateKey()
        return try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: now.addingTimeInterval(-60), notValidAfter: now.addingTimeInterval(3600),
            issuer: root.0.subject, subject: try DistinguishedName { CommonName("forged") }, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions(builder: extensions), issuerPrivateKey: .init(root.1))
    }

    static func root() throws -> (Certificate, P256.Signing.PrivateKey) {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName("test root") }
        let cert = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(86_400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true))
            }, issuerPrivateKey: .init(key))
        return (cert, key)
    }

    @Test func leavesThatBreakTheSVIDRulesAreRefusedEachWithItsReason() async throws {
        let root = try Self.root()
        let verifier = PeerVerifier(trustDomain: "mesh.local", trustBundle: [root.0])
        let cases: [(Certificate, String)] = [
            (try Self.forged(by: root) {
                SubjectAlternativeNames([.uniformResourceIdentifier("spiffe://mesh.local/service/a"), .uniformResourceIdentifier("spiffe://mesh.local/service/b")])
            }, "has 2 URI SANs"),
            (try Self.forged(by: root) { SubjectAlternativeNames([.dnsName("users")]) }, "has 0 URI SANs"),
            (try Self.forged(by: root) {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                SubjectAlternativeNames([.uniformResourceIdentifier("spiffe://mesh.local/service/a")])
            }, "is a CA certificate"),
            (try Self.forged(by: root) {
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true))
                SubjectAlternativeNames([.uniformResourceIdentifier("spiffe://mesh.local/service/a")])
            }, "may sign certificates"),
            (try Self.forged(by: root) { SubjectAlternativeNames([.uniformResourceIdentifier("spiffe://other.mesh/service/a")]) }, "belongs to trust domain 'other.mesh'"),
            (try Self.forged(by: root) { SubjectAlternativeNames([.uniformResourceIdentifier("https://mesh.local/service/a")]) }, "not a Heddle SPIFFE ID"),
        ]
        for (leaf, reason) in cases {
            await #expect { try await verifier.verify(chain: [leaf], now: Self.now) } throws: { error in
                (error as? IdentityError)?.message.contains(reason) == true
            }
        }
        // The same root signing a proper leaf is accepted: the refusals above are the rules.
        let good = try Self.forged(by: root) { SubjectAlternativeNames([.uniformResourceIdentifier("spiffe://mesh.local/service/a")]) }
        #expect(try await verifier.verify(chain: [good], now: Self.now).service == "a")
    }

    @Test func aRequestWhoseSignatureDoesNotMatchItsKeyIsRefused() throws {
        let ca = try CertificateAuthority.createRoot(trustDomain: "mesh.local", now: Self.now)
        let honest = try Self.request()
        let other = try Self.request()
        // The first request's contents with the second's signature.
        let tampered = try CertificateSigningRequest(derEncoded: Self.swapSignature(of: honest, with: other))
        #expect { try ca.issue(tampered, for: "users", now: Self.now) } throws: { error in
            (error as? IdentityError)?.kind == .invalidRequest
        }
    }

    static func swapSignature(of a: CertificateSigningRequest, with b: CertificateSigningRequest) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(a)
        let first = try DER.parse(serializer.serializedBytes)
        serializer = DER.Serializer()
        try serializer.serialize(b)
        let second = try DER.parse(serializer.serializedBytes)
        guard case .constructed(let partsA) = first.content, case .constructed(let partsB) = second.content else { return [] }
        let a = Array(partsA)
        let b = Array(partsB)
        var out = DER.Serializer()
        try out.appendConstructedNode(identifier: .sequence) { coder in
            coder.serialize(a[0])
            coder.serialize(a[1])
            coder.serialize(b[2])
        }
        return out.serializedBytes
    }

    @Test func anOperatorsIntermediateSignsLeavesThatVerifyToItsRoot() async throws {
        let root = try Self.root()
        let intermediateKey = P256.Signing.PrivateKey()
        let intermediate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(intermediateKey.publicKey), notValidBefore: Self.now.addingTimeInterval(-60), notValidAfter: Self.now.addingTimeInterval(86_400 * 30),
            issuer: root.0.subject, subject: try DistinguishedName { CommonName("org intermediate") }, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true))
            }, issuerPrivateKey: .init(root.1))
        let ca = try CertificateAuthority(
            trustDomain: "org.example", certificatePEM: try intermediate.serializeAsPEM().pemString,
            privateKeyPEM: intermediateKey.pemRepresentation, intermediatesPEM: try root.0.serializeAsPEM().pemString)
        let issued = try ca.issue(try Self.request(), for: "billing", now: Self.now)
        // A leaf never outlives the CA that signed it.
        #expect(issued.leaf.notValidAfter <= intermediate.notValidAfter)
        let verifier = PeerVerifier(trustDomain: "org.example", trustBundle: [root.0])
        #expect(try await verifier.verify(chain: [issued.leaf, intermediate], now: Self.now).service == "billing")
        // An operator key that is not the certificate's, or a certificate that is not a CA, is refused.
        #expect { try CertificateAuthority(trustDomain: "org.example", certificatePEM: try intermediate.serializeAsPEM().pemString, privateKeyPEM: P256.Signing.PrivateKey().pemRepresentation) } throws: { error in
            (error as? IdentityError)?.message.contains("does not belong") == true
        }
        #expect { try CertificateAuthority(trustDomain: "org.example", certificatePEM: try issued.leaf.serializeAsPEM().pemString, privateKeyPEM: intermediateKey.pemRepresentation) } throws: { error in
            (error as? IdentityError)?.message.contains("is not a CA") == true
        }
    }
}

@Suite struct JoinTokenTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    let tokens = JoinTokens(key: SymmetricKey(size: .bits256))

    @Test func aTokenNamesItsServiceUntilItExpires() throws {
        let token = try tokens.create(service: "web", now: Self.now, lifetime: .seconds(600))
        #expect(try tokens.verify(token, now: Self.now.addingTimeInterval(599)) == "web")
        #expect { try tokens.verify(token, now: Self.now.addingTimeInterval(601)) } throws: { ($0 as? IdentityError)?.message.contains("expired") == true }
    }

    @Test func forgedTamperedOrMalformedTokensAreRefused() throws {
        let token = try tokens.create(service: "web", now: Self.now)
        let other = JoinTokens(key: SymmetricKey(size: .bits256))
        #expect { try other.verify(token, now: Self.now) } throws: { ($0 as? IdentityError)?.message.contains("not issued by this control plane") == true }
        // The payload changed to another service, the MAC kept.
        let parts = token.split(separator: ".")
        let forged = try other.create(service: "admin", now: Self.now).split(separator: ".")
        #expect { try tokens.verify("\(parts[0]).\(forged[1]).\(parts[2])", now: Self.now) } throws: { ($0 as? IdentityError)?.kind == .invalidToken }
        for bad in ["", "hjt1", "hjt1..", "xyz.a.b", "hjt1.a.b.c", "hjt1.!!.??"] {
            #expect(throws: IdentityError.self) { try tokens.verify(bad, now: Self.now) }
        }
        #expect(throws: IdentityError.self) { try tokens.create(service: "not a name", now: Self.now) }
    }
}
