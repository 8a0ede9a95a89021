import HeddleAPI
import Testing

@testable import HeddleControlPlane

/// `heddle explain`'s reasoning over the hops proxies remember, without sockets.
@Suite("Failure explainer")
struct FailureExplainerTests {
    static func hop(_ instance: String, _ service: String, _ direction: String, status: Int, error: String? = nil, details: String? = nil, backend: String? = nil, retries: Int = 0) -> ExplainedHop {
        ExplainedHop(
            instance: instance, service: service, direction: direction, method: "GET", authority: "api", path: "/orders", status: status,
            latencyMilliseconds: 12, route: "api#0", backend: backend, endpoint: "10.0.0.2:4143", source: "spiffe://heddle.local/service/web",
            destination: nil, heddleError: error, details: details, retries: retries)
    }

    let services = [ServiceSummary(name: "api", declared: true, healthyInstances: 0, totalInstances: 2)]

    @Test("The proxy closest to the app that made an error is blamed; the caller's hop comes first")
    func proxyMadeError() {
        let explanation = FailureExplainer.explain(id: "ab", hops: [
            Self.hop("api-1", "api", "inbound", status: 502, error: "connect-failed", details: "127.0.0.1:8080: connection refused", backend: "app"),
            Self.hop("web-1", "web", "outbound", status: 502, backend: "api", retries: 1),
        ], services: services)
        #expect(explanation.reason == "connect-failed")
        #expect(explanation.hops.map(\.instance) == ["web-1", "api-1"])
        #expect(explanation.verdict == "GET api/orders failed at the proxy of api-1 (service api), receiving it: connect-failed (502): 127.0.0.1:8080: connection refused.")
    }

    @Test("No endpoints: the advice counts the service's healthy instances")
    func noEndpoints() {
        let explanation = FailureExplainer.explain(id: "ab", hops: [
            Self.hop("web-1", "web", "outbound", status: 503, error: "no-endpoints", details: "service 'api' has no endpoint", backend: "api", retries: 2),
        ], services: services)
        #expect(explanation.reason == "no-endpoints")
        #expect(explanation.advice.first?.contains("Service api has 0 healthy of 2 registered instances.") == true, "\(explanation.advice)")
        #expect(explanation.advice.last == "It was retried 2 times before failing.")
    }

    @Test("An app's own 5xx is the app's, passed on by the proxies")
    func appError() {
        let explanation = FailureExplainer.explain(id: "ab", hops: [
            Self.hop("web-1", "web", "outbound", status: 503, backend: "api"),
            Self.hop("api-1", "api", "inbound", status: 503, backend: "app"),
        ], services: services)
        #expect(explanation.reason == nil)
        #expect(explanation.verdict == "GET api/orders failed in the app of api-1 (service api): it answered 503; the proxies passed it on.")
    }

    @Test("Only the caller's proxy saw it: the endpoint is outside the mesh")
    func outsideTheMesh() {
        let explanation = FailureExplainer.explain(id: "ab", hops: [Self.hop("web-1", "web", "outbound", status: 500, backend: "legacy")], services: services)
        #expect(explanation.reason == nil)
        #expect(explanation.verdict.contains("no Heddle proxy saw it fail inside the mesh"))
    }
}
