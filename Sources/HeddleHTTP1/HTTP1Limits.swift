/// Bounds on what the HTTP/1.1 parsers accept from a peer; anything larger is an error.
public struct HTTP1Limits: Sendable, Hashable {
    /// The most bytes a head may take, from the first byte of the start line (including empty
    /// lines skipped before a request line) through the empty line that ends it.
    public let maxHeadBytes: Int
    /// The most field lines a head may have.
    public let maxHeaderCount: Int
    /// The most bytes of chunk extensions (`;name=value`) on one chunk-size line.
    public let maxChunkExtensionBytes: Int
    /// The most bytes of a chunked body's trailer section, including its final empty line.
    public let maxTrailerBytes: Int

    /// Limits with the given values; negative values count as 0 and `maxHeadBytes` is capped at
    /// `UInt32.max` (field offsets are stored in 32 bits).
    public init(
        maxHeadBytes: Int = 32 * 1024,
        maxHeaderCount: Int = 100,
        maxChunkExtensionBytes: Int = 1024,
        maxTrailerBytes: Int = 8 * 1024
    ) {
        self.maxHeadBytes = min(max(maxHeadBytes, 0), Int(UInt32.max))
        self.maxHeaderCount = max(maxHeaderCount, 0)
        self.maxChunkExtensionBytes = max(maxChunkExtensionBytes, 0)
        self.maxTrailerBytes = max(maxTrailerBytes, 0)
    }
}
