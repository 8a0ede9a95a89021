/// The body of every error the API answers (4xx, 5xx): a stable code, a sentence a person can
/// act on, and for invalid resources every field error.
public struct APIError: Codable, Hashable, Sendable, Error {
    /// `invalid` (400), `not-found` (404), `conflict` (409), `too-large` (413),
    /// `unsupported-media-type` (415), `internal` (500), `unavailable` (503).
    public var code: String
    public var message: String
    /// For `invalid`: every field error found.
    public var errors: [FieldError]
    /// For `conflict`: the revision the resource is at now (0 when it does not exist).
    public var currentRevision: Int64?

    public init(code: String, message: String, errors: [FieldError] = [], currentRevision: Int64? = nil) {
        self.code = code
        self.message = message
        self.errors = errors
        self.currentRevision = currentRevision
    }
}
