import HeddleAPI
import NIOCore
import Synchronization

/// Pushes as the watch streams write them (a JSON line), encoded once for every stream that
/// sends the same push: a change every proxy sees gives most of them the same delta (the same
/// version, base version and changed documents), and encoding it was a large share of the
/// control plane's CPU per proxy. Keyed by the push itself (hashing its documents is cheap next
/// to encoding them); holds at most `limit` lines and forgets them all when full, so memory
/// stays bounded whatever the pushes.
final class PushEncodings: Sendable {
    private let lines = Mutex<[ConfigPush: ByteBuffer]>([:])
    let limit: Int

    init(limit: Int = 256) {
        self.limit = limit
    }

    /// The push's JSON line (ending with a newline).
    func line(for push: ConfigPush) -> ByteBuffer {
        if let line = lines.withLock({ $0[push] }) { return line }
        var line = JSONBody.encode(push)
        line.writeString("\n")
        lines.withLock { lines in
            if lines.count >= limit { lines.removeAll(keepingCapacity: true) }
            lines[push] = line
        }
        return line
    }
}
