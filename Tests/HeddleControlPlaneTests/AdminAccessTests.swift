import HeddleControlPlane
import NIOCore
import Testing

/// Who may change the mesh: the control plane's own host, or a request with the admin token.
@Suite("AdminAccess")
struct AdminAccessTests {
    static let remote = try! SocketAddress(ipAddress: "10.1.2.3", port: 50000)

    static func message(_ access: AdminAccess, _ authorization: String?, _ remote: SocketAddress?) -> String? {
        do {
            try access.check(authorization: authorization, remote: remote)
            return nil
        } catch {
            return error.message
        }
    }

    @Test("Loopback (v4 and v6) may change the mesh without a token; another host needs it, and is told how")
    func loopbackAndRemote() throws {
        let access = AdminAccess(token: "s3cret")
        #expect(Self.message(access, nil, try SocketAddress(ipAddress: "127.0.0.1", port: 1)) == nil)
        #expect(Self.message(access, nil, try SocketAddress(ipAddress: "127.8.9.10", port: 1)) == nil)
        #expect(Self.message(access, nil, try SocketAddress(ipAddress: "::1", port: 1)) == nil)
        #expect(Self.message(access, nil, Self.remote)?.contains("from another host needs the admin token") == true)
        #expect(Self.message(access, "Bearer s3cret", Self.remote) == nil)
        #expect(Self.message(access, "Bearer s3cre7", Self.remote) == "the admin token given is not this control plane's")
        #expect(Self.message(access, "Basic s3cret", Self.remote) == "the admin token given is not this control plane's")
    }

    @Test("With requireToken, loopback needs it too; without a token, only the host itself may")
    func requiredAndTokenless() throws {
        let strict = AdminAccess(token: "s3cret", requireToken: true)
        #expect(Self.message(strict, nil, try SocketAddress(ipAddress: "127.0.0.1", port: 1))?.contains("needs the admin token") == true)
        #expect(Self.message(strict, "Bearer s3cret", try SocketAddress(ipAddress: "127.0.0.1", port: 1)) == nil)
        #expect(Self.message(AdminAccess(), nil, Self.remote) == "this control plane takes changes from its own host only")
    }
}
