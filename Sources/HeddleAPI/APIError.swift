/// The body of every error the API answers (4xx, 5xx): a stable code, a sentence a person can
/// act on, and for invalid resources every field error.
public struct APIError: Codable, Hashable, Sendable, Error {
    /// `invalid` (400), `not-found` (404), `conflict` (409), `unavailable` (503), `internal` (500).
    public var code: String
    public var message: String
    public var errors: [FieldError]

    public init(code: String, message: String, errors: [FieldError] = []) {
        self.code = code
        self.message = message
        self.errors = errors
    }
}
