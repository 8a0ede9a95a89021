/// Reads the `spec` of a `Service` resource.
enum ServiceSpecDecoder {
    static func decode(_ node: ConfigNode) -> ServiceSpec? {
        node.allowOnly([
            "protocol", "endpoints", "loadBalancer", "dnsRefreshSeconds",
            "circuitBreaker", "outlierDetection", "healthCheck", "retryBudget",
        ])
        let proto = node.child("protocol")?.oneOf(UpstreamProtocol.self) ?? .http1
        var endpoints: [EndpointSpec] = []
        if let list = node.child("endpoints")?.list() {
            var seen: Set<HostPort> = []
            for item in list {
                item.allowOnly(["address", "weight", "labels", "identity"])
                guard let addressNode = item.child("address") else {
                    item.fail("address is required")
                    continue
                }
                guard let address = addressNode.hostPort() else { continue }
                if address.port == 0 { addressNode.fail("port must be between 1 and 65535") }
                if !seen.insert(address).inserted { addressNode.fail("endpoint \(address) is listed twice") }
                let weight = item.child("weight")?.int(in: 0...1_000_000, "relative weight") ?? 1
                let labels = item.child("labels")?.stringMap() ?? [:]
                var identity: String?
                if let identityNode = item.child("identity"), let uri = identityNode.string() {
                    if EndpointSpec.isMeshIdentity(uri) {
                        identity = uri
                        if proto == .http1 {
                            identityNode.fail("an endpoint with an identity is a Heddle proxy, reached over mutual TLS and HTTP/2 (or opaque TCP): the service's protocol must be http2, grpc or tcp")
                        }
                    } else {
                        identityNode.fail("must be a workload identity, spiffe://<trust-domain>/service/<name>")
                    }
                }
                endpoints.append(EndpointSpec(address: address, weight: weight, labels: labels, identity: identity))
            }
        } else if node.child("endpoints") == nil {
            node.fail("endpoints is required (a list of {address: host:port})")
        }
        var balancer = LoadBalancerSpec()
        if let lb = node.child("loadBalancer") {
            lb.allowOnly(["policy", "hashKey"])
            if let policy = lb.child("policy")?.oneOf(LoadBalancerPolicy.self) { balancer.policy = policy }
            if let key = lb.child("hashKey") {
                key.allowOnly(["header", "cookie"])
                if let header = key.child("header")?.string() {
                    balancer.hashKey = .header(header.lowercased())
                } else if let cookie = key.child("cookie")?.string() {
                    balancer.hashKey = .cookie(cookie)
                } else {
                    key.fail("give header or cookie")
                }
                if balancer.policy != .ringHash { key.fail("hashKey applies only to policy ring-hash") }
            } else if balancer.policy == .ringHash {
                lb.fail("ring-hash needs hashKey (header or cookie)")
            }
        }
        let refresh = node.child("dnsRefreshSeconds")?.int(in: 1...86_400, "seconds") ?? 30
        var spec = ServiceSpec(protocol: proto, endpoints: endpoints, loadBalancer: balancer, dnsRefreshSeconds: refresh)
        if let breaker = node.child("circuitBreaker") { spec.circuitBreaker = decodeCircuitBreaker(breaker) }
        if let detection = node.child("outlierDetection") { spec.outlierDetection = decodeOutlierDetection(detection) }
        if let check = node.child("healthCheck") { spec.healthCheck = decodeHealthCheck(check, protocol: proto) }
        if let budget = node.child("retryBudget") { spec.retryBudget = decodeRetryBudget(budget) }
        return spec
    }
}
