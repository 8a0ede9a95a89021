import HeddleAPI
import HeddleIdentity
import Hummingbird
import NIOCore

/// Workload identity: `POST /v1/tokens` (a join token), `POST /v1/certificates` (sign a proxy's
/// CSR on proof of its service), `GET /v1/trust-bundle` (the roots, PEM).
enum IdentityRoutes {
    static func add(to router: Router<BasicRequestContext>, authority: WorkloadAuthority, maxBodyBytes: Int) {
        router.post("/v1/tokens") { request, _ in
            let asked = try await JSONBody.decode(TokenRequest.self, from: request, limit: maxBodyBytes)
            return JSONBody.response(try authority.token(asked), status: .created)
        }
        router.post("/v1/certificates") { request, _ in
            let asked = try await JSONBody.decode(CertificateRequest.self, from: request, limit: maxBodyBytes)
            return JSONBody.response(try await authority.certificate(asked), status: .created)
        }
        router.get("/v1/trust-bundle") { _, _ in
            let pem = try authority.authority.trustBundlePEM()
            return Response(status: .ok, headers: [.contentType: "application/x-pem-file"], body: ResponseBody(byteBuffer: ByteBuffer(string: pem)))
        }
    }
}
