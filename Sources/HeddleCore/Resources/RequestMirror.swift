/// A copy of a share of a rule's requests sent to another service; its responses are thrown
/// away and its failures never reach the client.
public struct RequestMirror: Hashable, Sendable, Codable {
    /// The service that gets the copies.
    public var backend: String
    /// The share of requests copied (0…100).
    public var percent: Double

    public init(backend: String, percent: Double = 100) {
        self.backend = backend
        self.percent = percent
    }
}
