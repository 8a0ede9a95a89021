/// Why an identity operation failed: a kind to branch on, and a message that names the problem.
public struct IdentityError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable {
        /// A SPIFFE ID or trust domain that is malformed.
        case invalidIdentity = "invalid-identity"
        /// A certificate signing request that cannot be read or whose signature is wrong.
        case invalidRequest = "invalid-request"
        /// A certificate or key that cannot be read, or a CA that cannot sign.
        case invalidCertificate = "invalid-certificate"
        /// A peer certificate that fails verification.
        case untrustedPeer = "untrusted-peer"
        /// A join token that is malformed, forged, expired or for another service.
        case invalidToken = "invalid-token"
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
