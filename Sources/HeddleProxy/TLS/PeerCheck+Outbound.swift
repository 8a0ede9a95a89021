import Logging
import NIOCore
import NIOSSL
import Prometheus

extension PeerCheck {
    /// The TLS handler for a connection to `endpoint`, a mesh peer (it has an identity), with
    /// the check that will hold the peer's verdict; or the failure that says why none can be
    /// made (`no-workload-identity` without a certificate of this proxy's own).
    static func outbound(_ tls: MeshTLS?, to endpoint: ResolvedEndpoint, eventLoop: any EventLoop) -> Result<(handler: NIOSSLClientHandler, check: PeerCheck), ProxyFailure> {
        let expected = endpoint.identity ?? ""
        guard let tls, let credentials = tls.credentials else {
            return .failure(ProxyFailure(.noWorkloadIdentity, "\(endpoint.key) is a mesh peer (\(expected)) reached over mutual TLS, and this proxy has no workload certificate yet"))
        }
        let check = PeerCheck(expected: expected)
        do {
            let handler = try NIOSSLClientHandler(
                context: credentials.clientContext, serverHostname: nil,
                customVerificationCallback: check.callback(verifier: credentials.verifier, now: tls.clock(), eventLoop: eventLoop))
            return .success((handler, check))
        } catch {
            return .failure(ProxyFailure(.upstreamTLSFailed, "cannot start TLS to \(endpoint.key): \(error)"))
        }
    }

    /// A handshake with the mesh peer at `endpoint` failed: counts and logs it, and returns the
    /// reason in words.
    func outboundFailed(_ error: any Error, endpoint: String, metrics: ProxyMetrics, logger: Logger) -> String {
        let reason = explain(error)
        metrics.tlsOutboundRefused.increment()
        logger.warning("mutual TLS with a mesh peer failed", metadata: ["endpoint": "\(endpoint)", "expected": "\(expected ?? "")", "reason": "\(reason)"])
        return reason
    }
}
