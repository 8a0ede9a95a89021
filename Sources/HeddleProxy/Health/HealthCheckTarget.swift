import HeddleCore

/// What one probe checks: an endpoint of a service, how, and within what time.
struct HealthProbeTarget: Hashable, Sendable {
    /// How a probe asks.
    enum Kind: Hashable, Sendable {
        /// Connecting passes.
        case tcp
        /// `GET path` over HTTP/1.1 on a fresh connection; a 2xx answer passes.
        case http1(path: String)
        /// `GET path` on a stream of a fresh HTTP/2 (h2c, prior knowledge) connection; a 2xx
        /// `:status` passes. For services that speak `http2` or `grpc`.
        case http2(path: String)
    }

    let service: String
    let endpoint: ResolvedEndpoint
    let kind: Kind
    /// Connecting and the answer together; a probe not done by then fails.
    let timeout: Duration
}

/// A service whose endpoints active health checks probe, as a snapshot defines it.
struct HealthCheckedService: Hashable, Sendable {
    let name: String
    let spec: HealthCheckSpec
    let kind: HealthProbeTarget.Kind
    let endpoints: [ResolvedEndpoint]

    /// The services of `snapshot` that have a `healthCheck`, by name.
    static func all(in snapshot: ProxySnapshot) -> [HealthCheckedService] {
        snapshot.services.compactMap { service in
            guard let spec = service.spec.healthCheck else { return nil }
            return HealthCheckedService(name: service.name, spec: spec, kind: kind(spec.probe, protocol: service.spec.protocol), endpoints: service.endpoints)
        }
    }

    /// An `http` check speaks the service's own protocol: HTTP/2 for `http2` and `grpc`
    /// services, HTTP/1.1 otherwise.
    static func kind(_ probe: HealthCheckSpec.Probe, protocol upstream: UpstreamProtocol) -> HealthProbeTarget.Kind {
        switch (probe, upstream) {
        case (.tcp, _): .tcp
        case (.http(let path), .http2), (.http(let path), .grpc): .http2(path: path)
        case (.http(let path), _): .http1(path: path)
        }
    }

    func target(_ endpoint: ResolvedEndpoint) -> HealthProbeTarget {
        HealthProbeTarget(service: name, endpoint: endpoint, kind: kind, timeout: spec.timeout)
    }
}
