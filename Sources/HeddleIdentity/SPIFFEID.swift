/// A workload's identity: `spiffe://<trust-domain>/service/<name>`, the only URI SAN of its
/// certificate (an X.509-SVID).
public struct SPIFFEID: Hashable, Sendable, CustomStringConvertible {
    public let trustDomain: String
    public let service: String

    /// The identity of `service` in `trustDomain`; throws when either is not valid.
    public init(trustDomain: String, service: String) throws(IdentityError) {
        guard Self.isValidTrustDomain(trustDomain) else {
            throw IdentityError(.invalidIdentity, "'\(trustDomain)' is not a valid trust domain (lowercase letters, digits, '.', '-', '_'; at most 255)")
        }
        guard Self.isValidService(service) else {
            throw IdentityError(.invalidIdentity, "'\(service)' is not a valid service name for an identity")
        }
        self.trustDomain = trustDomain
        self.service = service
    }

    /// Reads `spiffe://<trust-domain>/service/<name>`; anything else throws, naming why.
    public init(parsing uri: String) throws(IdentityError) {
        let scheme = "spiffe://"
        guard uri.hasPrefix(scheme) else { throw IdentityError(.invalidIdentity, "'\(uri)' is not a spiffe:// URI") }
        let rest = uri.dropFirst(scheme.count)
        let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1] == "service" else {
            throw IdentityError(.invalidIdentity, "'\(uri)' is not of the form spiffe://TRUST-DOMAIN/service/NAME")
        }
        try self.init(trustDomain: String(parts[0]), service: String(parts[2]))
    }

    public var uri: String { "spiffe://\(trustDomain)/service/\(service)" }

    public var description: String { uri }

    /// SPIFFE trust domain names: lowercase letters, digits, `.`, `-` and `_`, 1 to 255.
    public static func isValidTrustDomain(_ name: String) -> Bool {
        (1...255).contains(name.utf8.count) && name.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
    }

    /// A service name as an identity's path segment: letters, digits, `.`, `-`, `_`; not empty,
    /// not `.` or `..`.
    public static func isValidService(_ segment: String) -> Bool {
        !segment.isEmpty && segment != "." && segment != ".." && segment.utf8.count <= 253 && segment.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
    }
}
