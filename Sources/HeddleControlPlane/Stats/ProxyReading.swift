import HeddleStats

/// What the control plane reads from one proxy's `/metrics`: its request counters by listener,
/// route and backend, and per service its retries sent (a counter), its requests in flight
/// and the endpoints it holds ejected (gauges), and when its workload certificate expires.
struct ProxyReading: Sendable {
    var traffic: TrafficReading
    var retries: [String: Double] = [:]
    var inFlight: [String: Double] = [:]
    var ejected: [String: Double] = [:]
    /// When the workload certificate expires (seconds since 1970); nil without one.
    var certificateNotAfter: Int64?

    init(
        traffic: TrafficReading = TrafficReading(), retries: [String: Double] = [:], inFlight: [String: Double] = [:], ejected: [String: Double] = [:],
        certificateNotAfter: Int64? = nil
    ) {
        self.traffic = traffic
        self.retries = retries
        self.inFlight = inFlight
        self.ejected = ejected
        self.certificateNotAfter = certificateNotAfter
    }

    init(prometheusText: String) {
        let samples = PrometheusText.parse(prometheusText).samples
        traffic = TrafficReading(samples: samples)
        for sample in samples {
            if sample.name == "heddle_certificate_expiry_timestamp_seconds", sample.value > 0, sample.value < 1e12 {
                certificateNotAfter = Int64(sample.value)
            }
            guard let service = sample.labels["service"] else { continue }
            switch sample.name {
            case "heddle_retries_total": retries[service, default: 0] += sample.value
            case "heddle_requests_in_flight": inFlight[service, default: 0] += sample.value
            case "heddle_endpoints_ejected": ejected[service, default: 0] += sample.value
            default: break
            }
        }
    }
}

/// One reading of every proxy the control plane could reach, by instance id.
struct MeshReading: Sendable {
    var time: ContinuousClock.Instant
    var proxies: [String: ProxyReading]
    /// Instances whose proxy did not answer, or registered no admin address.
    var unreachable: [String]
}
