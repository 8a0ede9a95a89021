/// The outcome of feeding bytes to `HTTP1HeadParser`.
public enum HTTP1ParseResult: Sendable {
    /// The head is not complete yet: call again once more bytes have arrived.
    case needMoreBytes
    /// A complete, valid head; `consumed` bytes of the buffer (the head and any empty lines
    /// skipped before it) belong to it, and the body or the next message starts after them.
    case head(HTTP1Head, consumed: Int)
    /// The bytes cannot be framed safely: answer with the error and close the connection.
    case error(HTTP1ParseError)
}
