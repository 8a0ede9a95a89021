import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// The demo's traffic: `rate` requests a second to `web` through the loadgen instance's
/// sidecar, spread over a few concurrent callers, each outcome counted as the caller sees it.
struct LoadGenerator: Sendable {
    /// What the callers saw.
    struct Tally: Sendable {
        var requests = 0
        var succeeded = 0
        /// Failed requests by status and `heddle-error` (or the client's error).
        var failures: [String: Int] = [:]
    }

    static let callers = 4

    let rate: Int
    let outboundPort: Int
    let http: HTTPClient
    let tally = Locked(Tally())

    /// Sends until cancelled.
    func run() async {
        let interval = Duration.seconds(Double(Self.callers) / Double(max(1, rate)))
        await withTaskGroup(of: Void.self) { group in
            for caller in 0..<Self.callers {
                group.addTask {
                    // Callers start spread over one interval, not all at once.
                    try? await Task.sleep(for: interval * (Double(caller) / Double(Self.callers)))
                    var sequence = caller
                    let clock = ContinuousClock()
                    var next = clock.now
                    while !Task.isCancelled {
                        let outcome = await send(path: "/profile/\(sequence % 1000)")
                        if Task.isCancelled { break }
                        record(outcome)
                        sequence += Self.callers
                        next += interval
                        if next > clock.now {
                            try? await Task.sleep(until: next)
                        } else {
                            next = clock.now
                        }
                    }
                }
            }
        }
    }

    /// One request; nil when it succeeded, else why not.
    func send(path: String) async -> String? {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(outboundPort)\(path)")
        request.headers.add(name: "Host", value: DemoTopology.entryService)
        do {
            let response = try await http.execute(request, timeout: .seconds(5))
            _ = try await response.body.collect(upTo: 1 << 20)
            guard (200..<400).contains(Int(response.status.code)) else {
                let reason = response.headers.first(name: "heddle-error").map { " \($0)" } ?? ""
                return "\(response.status.code)\(reason)"
            }
            return nil
        } catch {
            return "\(error)"
        }
    }

    private func record(_ failure: String?) {
        tally.mutate { tally in
            tally.requests += 1
            if let failure {
                tally.failures[failure, default: 0] += 1
            } else {
                tally.succeeded += 1
            }
        }
    }
}
