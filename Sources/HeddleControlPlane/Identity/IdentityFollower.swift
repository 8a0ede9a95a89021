import Logging
import ServiceLifecycle

/// With replicas, keeps a replica's certificate authority in step with the shared store: every
/// `interval` it takes the CA another replica changed (a rotation's phase run there). A store
/// out of reach is logged once per outage; the CA in force stays meanwhile.
struct IdentityFollower: Service {
    let authority: WorkloadAuthority
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var failing = false
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: interval)
                } catch {
                    return
                }
                do {
                    try await authority.refresh()
                    if failing { logger.info("the certificate authority follows the store again", metadata: ["store": "reachable"]) }
                    failing = false
                } catch {
                    if !failing { logger.warning("cannot read the certificate authority from the store; the one in force stays", metadata: ["error": "\(error)"]) }
                    failing = true
                }
            }
        }
    }
}

extension WorkloadAuthority {
    /// Whether another replica may change this authority's CA (it is kept in a shared store).
    var followsStore: Bool {
        if case .store? = keeper { true } else { false }
    }
}
