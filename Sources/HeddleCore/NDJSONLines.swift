import NIOCore

/// Splits a byte stream into newline-delimited lines (NDJSON: the watch stream, tap events),
/// refusing a line over `limit` bytes. Empty lines (keep-alives) are skipped.
public struct NDJSONLines {
    public let limit: Int
    private var partial = ByteBuffer()

    public init(limit: Int) {
        self.limit = limit
    }

    /// The lines `chunk` completes, without their newlines.
    public mutating func feed(_ chunk: ByteBuffer) throws(LineTooLong) -> [ByteBuffer] {
        var chunk = chunk
        partial.writeBuffer(&chunk)
        var lines: [ByteBuffer] = []
        while let newline = partial.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - partial.readerIndex
            let line = partial.readSlice(length: length)!
            partial.moveReaderIndex(forwardBy: 1)
            if line.readableBytes > 0 { lines.append(line) }
        }
        if partial.readableBytes > limit {
            throw LineTooLong(limit: limit)
        }
        partial.discardReadBytes()
        return lines
    }

    public struct LineTooLong: Error, Sendable {
        public let limit: Int
    }
}
