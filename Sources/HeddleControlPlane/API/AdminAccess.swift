import Crypto
import Foundation
import HeddleIdentity
import Hummingbird
import NIOCore

/// Who may change the mesh through the API — apply and delete resources, mint join tokens,
/// rotate the root: a request from the control plane's own host (loopback), or one that shows
/// the admin token (`Authorization: Bearer …`). With `requireToken`, loopback needs it too.
/// Reading the mesh, and what sidecars do (register, watch, acknowledge, renew), is not gated
/// here.
public struct AdminAccess: Sendable {
    /// The admin token; nil: only the host itself may change the mesh.
    public var token: String?
    /// Ask for the token from loopback too (a host shared with untrusted users).
    public var requireToken: Bool

    public init(token: String? = nil, requireToken: Bool = false) {
        self.token = token
        self.requireToken = requireToken
    }

    /// Throws `forbidden`, saying what is missing, unless the request may change the mesh.
    public func check(authorization: String?, remote: SocketAddress?) throws(ControlPlaneError) {
        if let token, let presented = authorization {
            guard presented.hasPrefix("Bearer "),
                  Self.constantTimeEqual(Array(presented.dropFirst("Bearer ".count).utf8), Array(token.utf8))
            else { throw ControlPlaneError(.forbidden, "the admin token given is not this control plane's") }
            return
        }
        if !requireToken, Self.isLoopback(remote) { return }
        if token == nil {
            throw ControlPlaneError(.forbidden, "this control plane takes changes from its own host only")
        }
        throw ControlPlaneError(.forbidden, "changing the mesh \(requireToken ? "" : "from another host ")needs the admin token: Authorization: Bearer <the token in DATA-DIR/admin-token> (heddle --admin-token, or HEDDLE_ADMIN_TOKEN)")
    }

    func check(_ request: Request, _ context: APIRequestContext) throws(ControlPlaneError) {
        try check(authorization: request.headers[.authorization], remote: context.remoteAddress)
    }

    /// 127.0.0.0/8 and ::1 (and no address at all: an in-process transport).
    static func isLoopback(_ address: SocketAddress?) -> Bool {
        guard let address else { return true }
        switch address {
        case .v4: return address.ipAddress?.hasPrefix("127.") == true
        case .v6: return address.ipAddress == "::1"
        case .unixDomainSocket: return true
        }
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    /// The admin token kept at `path` (mode 0600), made on first use: 32 random bytes, hex.
    public static func loadOrCreateToken(at path: String) throws -> String {
        if let kept = try? String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !kept.isEmpty {
            return kept
        }
        let token = SymmetricKey(size: .bits256).withUnsafeBytes { Hex.encode($0) }
        try PrivateFile.write(token + "\n", to: path, exclusive: true)
        return token
    }
}
