/// `POST /v1/tokens`: a join token for a new proxy of `service`.
public struct TokenRequest: Codable, Hashable, Sendable {
    public var service: String
    /// How long the token lasts, in seconds (default 1800, at most 86 400).
    public var ttlSeconds: Int?

    public init(service: String, ttlSeconds: Int? = nil) {
        self.service = service
        self.ttlSeconds = ttlSeconds
    }
}

/// A join token and when it stops working.
public struct TokenResponse: Codable, Hashable, Sendable {
    public var token: String
    public var service: String
    /// Seconds since 1970.
    public var expires: Int64

    public init(token: String, service: String, expires: Int64) {
        self.token = token
        self.service = service
        self.expires = expires
    }
}

/// `POST /v1/certificates`: a proxy's certificate signing request (PEM), with its proof of who it
/// is: a join token, or — to renew with the same key — its current certificate chain (PEM).
public struct CertificateRequest: Codable, Hashable, Sendable {
    public var csr: String
    public var token: String?
    public var currentCertificate: String?

    public init(csr: String, token: String? = nil, currentCertificate: String? = nil) {
        self.csr = csr
        self.token = token
        self.currentCertificate = currentCertificate
    }
}

/// A signed workload certificate: the chain to present (leaf first, PEM), the roots to trust
/// (PEM), the identity it carries and its expiry.
public struct CertificateResponse: Codable, Hashable, Sendable {
    /// `spiffe://<trust-domain>/service/<name>`.
    public var identity: String
    public var certificateChain: String
    public var trustBundle: String
    /// Seconds since 1970.
    public var notAfter: Int64

    public init(identity: String, certificateChain: String, trustBundle: String, notAfter: Int64) {
        self.identity = identity
        self.certificateChain = certificateChain
        self.trustBundle = trustBundle
        self.notAfter = notAfter
    }
}
