/// How a `LoadBalancer` chooses an endpoint for each request.
public enum BalancerAlgorithm: Hashable, Sendable {
    /// Power of two choices over peak-EWMA latency (as Finagle and linkerd2-proxy do): two
    /// distinct random endpoints are compared by `latency estimate × (in-flight + 1) / weight`
    /// and the cheaper one wins. A response slower than the estimate replaces it at once; a
    /// faster one pulls it down with weight `1 - exp(-elapsed / decay)`; with no responses the
    /// estimate decays toward zero, so an endpoint left alone is tried again. `defaultRTT` is
    /// the estimate before the first response.
    case p2cPeakEWMA(decay: Duration = .seconds(10), defaultRTT: Duration = .milliseconds(30))
    /// Smooth weighted round robin (nginx's): deterministic, and each endpoint's turns are
    /// spread evenly through the cycle.
    case roundRobin
    /// Power of two choices over `(in-flight + 1) / weight` (Envoy's least request with a
    /// choice count of 2).
    case leastRequest
    /// Ketama-style consistent hashing on the request's hash: each endpoint gets ring points in
    /// proportion to its weight, at least `minimumRingSize` points in all (at most 8 388 608,
    /// Envoy's maximum). An ineligible endpoint's keys go to the next eligible one clockwise.
    /// Requests without a hash get a uniformly random endpoint.
    case ringHash(minimumRingSize: Int = 1024)

    /// P2C over peak EWMA, with a 10 s decay and a 30 ms default round-trip time.
    public static let `default` = BalancerAlgorithm.p2cPeakEWMA()
}
