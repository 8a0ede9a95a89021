/// Reads a `Service`'s resilience settings: circuit breaker, outlier detection, health check
/// and retry budget.
extension ServiceSpecDecoder {
    static func decodeCircuitBreaker(_ node: ConfigNode) -> CircuitBreakerSpec {
        node.allowOnly(["maxConnections", "maxPendingRequests", "maxRequests", "maxRetries"])
        var breaker = CircuitBreakerSpec()
        if let value = node.child("maxConnections")?.int(in: 1...1_000_000, "connections") { breaker.maxConnections = value }
        if let value = node.child("maxPendingRequests")?.int(in: 0...1_000_000, "requests") { breaker.maxPendingRequests = value }
        if let value = node.child("maxRequests")?.int(in: 1...1_000_000, "requests") { breaker.maxRequests = value }
        if let value = node.child("maxRetries")?.int(in: 0...1_000_000, "retries") { breaker.maxRetries = value }
        return breaker
    }

    static func decodeOutlierDetection(_ node: ConfigNode) -> OutlierDetectionSpec {
        node.allowOnly([
            "enabled", "consecutiveFailures", "interval", "baseEjectionTime", "maxEjectionTime", "maxEjectionPercent", "successRate",
        ])
        var detection = OutlierDetectionSpec()
        if let value = node.child("enabled")?.bool() { detection.enabled = value }
        if let value = node.child("consecutiveFailures")?.int(in: 0...1000, "failures in a row; 0 turns the check off") {
            detection.consecutiveFailures = value
        }
        if let value = node.child("interval")?.positiveDuration() { detection.interval = value }
        if let value = node.child("baseEjectionTime")?.positiveDuration() { detection.baseEjectionTime = value }
        if let value = node.child("maxEjectionTime")?.positiveDuration() { detection.maxEjectionTime = value }
        node.requireOrder("baseEjectionTime", detection.baseEjectionTime, atMost: "maxEjectionTime", detection.maxEjectionTime)
        if let value = node.child("maxEjectionPercent")?.int(in: 0...100, "percent") { detection.maxEjectionPercent = value }
        if let rate = node.child("successRate") {
            rate.allowOnly(["enabled", "minimumHosts", "requestVolume", "stdevFactor"])
            if let value = rate.child("enabled")?.bool() { detection.successRate.enabled = value }
            if let value = rate.child("minimumHosts")?.int(in: 1...10_000, "endpoints") { detection.successRate.minimumHosts = value }
            if let value = rate.child("requestVolume")?.int(in: 1...1_000_000, "requests") { detection.successRate.requestVolume = value }
            if let value = rate.child("stdevFactor")?.positiveDouble() { detection.successRate.stdevFactor = value }
        }
        return detection
    }

    static func decodeHealthCheck(_ node: ConfigNode, protocol proto: UpstreamProtocol) -> HealthCheckSpec? {
        node.allowOnly(["http", "tcp", "interval", "timeout", "healthyThreshold", "unhealthyThreshold"])
        guard node.isMapping else { return nil }
        var probe: HealthCheckSpec.Probe?
        if node.has("http"), node.has("tcp") {
            node.fail("give http or tcp, not both")
        } else if node.has("http") {
            // `http:` with nothing after it checks `/`, as `http: {}` does.
            let http = node.child("http")
            http?.allowOnly(["path"])
            let pathNode = http?.child("path")
            let path = pathNode?.string() ?? "/"
            if !path.hasPrefix("/") || !path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "#") }) {
                pathNode?.fail("'\(path)' must be a path starting with '/', without spaces or fragment")
            }
            if proto == .tcp { (http ?? node).fail("an http check needs an HTTP service; this one speaks tcp (use tcp: {})") }
            probe = .http(path: path)
        } else if node.has("tcp") {
            if let tcp = node.child("tcp"), !tcp.isEmptyMapping { tcp.fail("takes no settings (write tcp: {})") }
            probe = .tcp
        } else {
            node.fail("give http: {path: ...} or tcp: {}")
        }
        var check = HealthCheckSpec(probe: probe ?? .tcp)
        if let value = node.child("interval")?.positiveDuration() { check.interval = value }
        if let value = node.child("timeout")?.positiveDuration() { check.timeout = value }
        node.requireOrder("timeout", check.timeout, atMost: "interval", check.interval)
        if let value = node.child("healthyThreshold")?.int(in: 1...100, "checks in a row") { check.healthyThreshold = value }
        if let value = node.child("unhealthyThreshold")?.int(in: 1...100, "checks in a row") { check.unhealthyThreshold = value }
        return probe == nil ? nil : check
    }

    static func decodeRetryBudget(_ node: ConfigNode) -> RetryBudgetSpec {
        node.allowOnly(["ratio", "minRetriesPerSecond", "ttl"])
        var budget = RetryBudgetSpec()
        if let value = node.child("ratio")?.double(in: 0...1) { budget.ratio = value }
        if let value = node.child("minRetriesPerSecond")?.int(in: 0...1_000_000, "retries per second") { budget.minRetriesPerSecond = value }
        if let value = node.child("ttl")?.duration(in: .seconds(1) ... .seconds(60)) { budget.ttl = value }
        return budget
    }
}
