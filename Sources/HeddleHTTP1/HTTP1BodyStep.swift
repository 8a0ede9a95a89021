/// What a body framer found in the bytes it was given.
///
/// The caller forwards `buffer.readSlice(length: consumed)` as part of the current message
/// and keeps the rest, which starts the next message on a pipelined connection.
public enum HTTP1BodyStep: Sendable, Hashable {
    /// All `consumed` bytes (the whole input) belong to the message, which goes on.
    case inProgress(consumed: Int)
    /// The message ends after the first `consumed` bytes of the input.
    case finished(consumed: Int)
    /// The body cannot be framed safely: stop forwarding and close the connection.
    case error(HTTP1ParseError)
}
