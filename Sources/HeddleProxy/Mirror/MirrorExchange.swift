import HeddleCore
import HeddlePolicy
import Logging
import NIOCore

/// One copy on its way to a mirror endpoint: its timeout, its balancer ticket, and the
/// connection or stream carrying it. It ends exactly once — answered, failed, or timed out
/// (the connection is then closed, the stream reset) — and reports that to its client.
final class MirrorExchange {
    /// What carries the copy.
    enum Transport {
        case none
        case connection(MirrorConnection)
        case stream(MirrorStream)
    }

    let service: String
    let endpoint: ResolvedEndpoint
    /// When the copy started, for the endpoint's latency sample.
    let started: UInt64
    let logger: Logger
    private unowned let client: MirrorClient
    private var ticket: BalancerTicket?
    private var transport = Transport.none
    private var timer: Scheduled<Void>?
    private var timeoutNanos: UInt64 = 0
    private(set) var isFinished = false

    init(client: MirrorClient, service: String, endpoint: ResolvedEndpoint, ticket: BalancerTicket, started: UInt64, logger: Logger) {
        self.client = client
        self.service = service
        self.endpoint = endpoint
        self.ticket = ticket
        self.started = started
        self.logger = logger
    }

    /// Ends the copy as failed if it is not answered within `nanoseconds`.
    func armTimeout(in nanoseconds: UInt64, on eventLoop: any EventLoop) {
        timeoutNanos = nanoseconds
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        timer = eventLoop.scheduleTask(in: .nanoseconds(Int64(clamping: nanoseconds))) {
            bound.value.timedOut()
        }
    }

    func carried(by transport: Transport) {
        self.transport = transport
    }

    /// The copy ended: answered with `status` (nil when there was no answer), or with
    /// `failure`. Later calls are ignored.
    func finish(status: Int?, failure: String?) {
        guard !isFinished else { return }
        isFinished = true
        timer?.cancel()
        timer = nil
        transport = .none
        guard let ticket else { return }
        self.ticket = nil
        client.ended(self, ticket: ticket, success: failure == nil && (status ?? 0) < 500, failure: failure)
    }

    private func timedOut() {
        timer = nil
        guard !isFinished else { return }
        let carrier = transport
        let timeout = Duration.nanoseconds(Int64(clamping: timeoutNanos))
        finish(status: nil, failure: "no response within \(timeout.configText)")
        switch carrier {
        case .connection(let connection): connection.abort()
        case .stream(let stream): stream.cancel()
        case .none: break
        }
    }
}
