import HeddleAPI
import HeddleIdentity
import HTTPTypes
import Hummingbird
import NIOCore

/// Workload identity: `POST /v1/tokens` (a join token), `POST /v1/certificates` (sign a proxy's
/// CSR on proof of its service), `GET /v1/trust-bundle` (the roots, PEM; `Heddle-Signer-Key-ID`
/// names the CA that signs now, so a proxy whose certificate another CA signed renews),
/// `GET /v1/ca` and `POST /v1/ca/rotation` (root rotation).
enum IdentityRoutes {
    static let signerKeyIDField = HTTPField.Name("Heddle-Signer-Key-ID")!

    static func add(to router: Router<APIRequestContext>, authority: WorkloadAuthority, admin: AdminAccess, maxBodyBytes: Int) {
        router.post("/v1/tokens") { request, context in
            try admin.check(request, context)
            let asked = try await JSONBody.decode(TokenRequest.self, from: request, limit: maxBodyBytes)
            return JSONBody.response(try authority.token(asked), status: .created)
        }
        router.post("/v1/certificates") { request, _ in
            let asked = try await JSONBody.decode(CertificateRequest.self, from: request, limit: maxBodyBytes)
            return JSONBody.response(try await authority.certificate(asked), status: .created)
        }
        router.get("/v1/trust-bundle") { _, _ in
            let signer = authority.authority
            let pem = try signer.trustBundlePEM()
            var headers: HTTPFields = [.contentType: "application/x-pem-file"]
            headers[signerKeyIDField] = signer.certificate.keyIdentifierHex
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: pem)))
        }
        router.get("/v1/ca") { _, _ in
            JSONBody.response(authority.status(), status: .ok)
        }
        router.post("/v1/ca/rotation") { request, context in
            try admin.check(request, context)
            let asked = try await JSONBody.decode(CARotationRequest.self, from: request, limit: maxBodyBytes)
            guard let phase = WorkloadAuthority.RotationPhase(rawValue: asked.phase) else {
                throw ControlPlaneError(.invalid, "phase: '\(asked.phase)' is not one of prepare, activate, finish")
            }
            return JSONBody.response(try await authority.rotate(phase), status: .ok)
        }
    }
}
