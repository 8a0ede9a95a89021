/// The last failed requests one event loop answered, by request id, for `heddle explain`: a
/// ring of what each came to, kept as gathered and written out as event lines (what `heddle
/// tap` shows, with the failure's details) only when the admin endpoint's `/failures` asks.
/// An outage fails every request: remembering one costs no formatting.
struct FailureLog {
    /// The header that gives a proxy-made error's id to the caller.
    static let requestIDHeader = "heddle-request-id"

    struct Entry {
        var id: String
        var facts: RequestFacts
        var latencyNanoseconds: Int64
        var traceID: String?
        /// When it failed, nanoseconds since the Unix epoch.
        var time: UInt64
    }

    let capacity: Int
    private var entries: [Entry] = []
    private var next = 0

    init(capacity: Int = 256) {
        self.capacity = capacity
        entries.reserveCapacity(capacity)
    }

    mutating func append(_ entry: Entry) {
        if entries.count < capacity {
            entries.append(entry)
        } else {
            entries[next] = entry
        }
        next = (next + 1) % capacity
    }

    /// The event lines of `id` (a request retried through this proxy on the same trace may
    /// have several), or of the most recent `limit` when `id` is nil; oldest first.
    func lines(id: String?, proxyIdentity: String?, limit: Int = 50) -> [String] {
        let ordered = entries.count < capacity ? entries : Array(entries[next...] + entries[..<next])
        let chosen = id.map { id in ordered.filter { $0.id == id } } ?? Array(ordered.suffix(limit))
        return chosen.map { entry in
            entry.facts.eventLine(
                time: entry.time, latencyNanoseconds: entry.latencyNanoseconds, traceID: entry.traceID, proxyIdentity: proxyIdentity,
                requestID: entry.id)
        }
    }
}
