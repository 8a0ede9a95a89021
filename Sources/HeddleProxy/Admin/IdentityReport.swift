import Foundation
import HeddleCore
import HeddleIdentity

/// The admin endpoint's `/identity`: what the proxy proves itself with and whom it lets in —
/// its workload identity and certificate (chain and trust bundle as PEM, for `heddle check` to
/// verify), the inbound listener's TLS mode and service, and the authorization policies that
/// decide its inbound requests.
public struct IdentityReport: Codable, Sendable {
    public struct Policy: Codable, Sendable {
        public var name: String
        public var action: String
        public var rules: Int
    }

    /// The SPIFFE ID, nil without a certificate.
    public var identity: String?
    public var notBefore: Int64?
    public var notAfter: Int64?
    public var certificateChain: String?
    public var trustBundle: String?
    /// `strict`, `permissive` or `disabled`; nil without an inbound listener.
    public var inboundTLS: String?
    /// The inbound listener's service (whose policies apply).
    public var service: String?
    public var authorizationPolicies: [Policy]

    init(tls: MeshTLS?, config: MeshConfig) {
        let credentials = tls?.credentials
        identity = credentials?.identity.uri
        notBefore = credentials.map { Int64($0.notBefore.timeIntervalSince1970) }
        notAfter = credentials.map { Int64($0.notAfter.timeIntervalSince1970) }
        certificateChain = credentials?.chainPEM
        trustBundle = credentials?.bundlePEM
        inboundTLS = config.proxy.inbound?.tls.rawValue
        service = config.proxy.inbound?.service
        authorizationPolicies = config.inboundAuthorizationPolicies.map {
            Policy(name: $0.name, action: $0.spec.action.rawValue, rules: $0.spec.rules.count)
        }
    }
}
