import Crypto
import Foundation

/// Short-lived tokens that let a new proxy of one service join the mesh: the control plane gives
/// one out (`heddle token create --service NAME`), and signs the proxy's first certificate when
/// it shows it. A token is `hjt1.<payload>.<mac>`: the payload (service and expiry, base64url
/// JSON) and an HMAC-SHA256 of it under the control plane's key. Nothing is stored: a token
/// proves itself, and stops working at its expiry.
public struct JoinTokens: Sendable {
    private let key: SymmetricKey
    static let prefix = "hjt1"

    /// Tokens under `key` (32 random bytes, kept by the control plane).
    public init(key: SymmetricKey) {
        self.key = key
    }

    /// The key's bytes, to keep on disk.
    public var keyBytes: [UInt8] { key.withUnsafeBytes { Array($0) } }

    private struct Payload: Codable {
        var service: String
        /// Seconds since 1970.
        var expires: Int64
        var nonce: String
    }

    /// A token for `service`, valid until `now + lifetime`.
    public func create(service: String, now: Date, lifetime: Duration = .seconds(30 * 60)) throws -> String {
        guard SPIFFEID.isValidService(service) else { throw IdentityError(.invalidIdentity, "'\(service)' is not a valid service name for an identity") }
        let nonce = SymmetricKey(size: .bits128).withUnsafeBytes { Data($0).base64URL }
        let payload = Payload(service: service, expires: Int64((now.timeIntervalSince1970 + lifetime.seconds).rounded(.down)), nonce: nonce)
        let body = try JSONEncoder().encode(payload).base64URL
        return "\(Self.prefix).\(body).\(mac(body))"
    }

    /// The service a token is for, when it is genuine and not expired at `now`.
    public func verify(_ token: String, now: Date) throws(IdentityError) -> String {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == Self.prefix else {
            throw IdentityError(.invalidToken, "the join token is malformed (expected \(Self.prefix).PAYLOAD.MAC)")
        }
        let body = String(parts[1])
        guard let given = Data(base64URL: String(parts[2])),
              HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: Data(body.utf8), using: key)
        else {
            throw IdentityError(.invalidToken, "the join token was not issued by this control plane")
        }
        guard let json = Data(base64URL: body), let payload = try? JSONDecoder().decode(Payload.self, from: json) else {
            throw IdentityError(.invalidToken, "the join token's payload cannot be read")
        }
        guard Double(payload.expires) > now.timeIntervalSince1970 else {
            throw IdentityError(.invalidToken, "the join token for \(payload.service) expired at \(Date(timeIntervalSince1970: TimeInterval(payload.expires)))")
        }
        return payload.service
    }

    private func mac(_ body: String) -> String {
        Data(HMAC<SHA256>.authenticationCode(for: Data(body.utf8), using: key)).base64URL
    }
}

extension Data {
    /// Base64url without padding (RFC 4648 §5).
    var base64URL: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    init?(base64URL text: String) {
        guard text.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        self.init(base64Encoded: base64)
    }
}
