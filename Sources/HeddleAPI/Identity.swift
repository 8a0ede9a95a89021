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

/// `POST /v1/ca/rotation`: the next phase of a root rotation — `prepare` (a new root joins the
/// trust bundle), `activate` (certificates are signed under the new root; proxies renew),
/// `finish` (the old root leaves the trust bundle).
public struct CARotationRequest: Codable, Hashable, Sendable {
    public var phase: String

    public init(phase: String) {
        self.phase = phase
    }
}

/// One CA certificate, as `GET /v1/ca` describes it.
public struct CACertificateSummary: Codable, Hashable, Sendable {
    public var subject: String
    /// The subject key identifier, hex: what certificates it signs name as their issuer key.
    public var keyID: String
    public var notAfter: Int64

    public init(subject: String, keyID: String, notAfter: Int64) {
        self.subject = subject
        self.keyID = keyID
        self.notAfter = notAfter
    }
}

/// `GET /v1/ca`: the certificate authority's state — what signs, what is trusted, and where a
/// root rotation stands (`steady`, `prepared`, `activated`).
public struct CAStatus: Codable, Hashable, Sendable {
    public var trustDomain: String
    public var signer: CACertificateSummary
    public var trustBundle: [CACertificateSummary]
    public var rotation: String
    /// The root `activate` will sign with (after `prepare`).
    public var pending: CACertificateSummary?

    public init(trustDomain: String, signer: CACertificateSummary, trustBundle: [CACertificateSummary], rotation: String, pending: CACertificateSummary? = nil) {
        self.trustDomain = trustDomain
        self.signer = signer
        self.trustBundle = trustBundle
        self.rotation = rotation
        self.pending = pending
    }
}
