/// The last failed requests one event loop answered, by request id, for `heddle explain`: a
/// ring of their event lines (what `heddle tap` shows, with the failure's details). Written
/// only when a request fails; read by the admin endpoint's `/failures`.
struct FailureLog {
    /// The header that gives a proxy-made error's id to the caller.
    static let requestIDHeader = "heddle-request-id"

    struct Entry {
        var id: String
        var line: String
    }

    let capacity: Int
    private var entries: [Entry] = []
    private var next = 0

    init(capacity: Int = 256) {
        self.capacity = capacity
        entries.reserveCapacity(capacity)
    }

    mutating func append(id: String, line: String) {
        if entries.count < capacity {
            entries.append(Entry(id: id, line: line))
        } else {
            entries[next] = Entry(id: id, line: line)
        }
        next = (next + 1) % capacity
    }

    /// The lines of `id` (a request retried through this proxy on the same trace may have
    /// several), or the most recent `limit` when `id` is nil; oldest first.
    func lines(id: String?, limit: Int = 50) -> [String] {
        let ordered = entries.count < capacity ? entries : Array(entries[next...] + entries[..<next])
        guard let id else { return ordered.suffix(limit).map(\.line) }
        return ordered.filter { $0.id == id }.map(\.line)
    }
}
