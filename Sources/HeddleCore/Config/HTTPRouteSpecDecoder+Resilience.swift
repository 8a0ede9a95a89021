/// Reads a rule's resilience settings: timeouts, the retry policy, and the `RequestMirror`
/// and `Fault` filters.
extension HTTPRouteSpecDecoder {
    static func decodeTimeouts(_ node: ConfigNode) -> RouteTimeoutsSpec {
        node.allowOnly(["request", "backendRequest", "idle"])
        let timeouts = RouteTimeoutsSpec(
            request: node.child("request")?.positiveDuration(),
            backendRequest: node.child("backendRequest")?.positiveDuration(),
            idle: node.child("idle")?.positiveDuration())
        // Without `request`, the Proxy's requestTimeout applies: MeshConfig checks against it.
        if let request = timeouts.request, let backendRequest = timeouts.backendRequest, backendRequest > request {
            node.child("backendRequest")?.fail("must be at most request (\(request.configText))")
        }
        return timeouts
    }

    static func decodeRetry(_ node: ConfigNode) -> RetryPolicySpec {
        node.allowOnly(["attempts", "on", "codes", "grpcCodes", "backoff", "bodyBufferLimit", "nonIdempotent"])
        var retry = RetryPolicySpec()
        if let value = node.child("attempts")?.int(in: 1...10, "attempts, the first one included") { retry.attempts = value }
        if let value = node.child("on")?.listOfDistinct({ $0.oneOf(RetryCondition.self) }) { retry.on = value }
        if let value = node.child("codes")?.listOfDistinct({ $0.int(in: 400...599, "HTTP status") }) { retry.codes = value }
        if let value = node.child("grpcCodes")?.listOfDistinct({ $0.grpcFailureStatus() }) { retry.grpcCodes = value }
        if let backoff = node.child("backoff") {
            backoff.allowOnly(["base", "max"])
            if let value = backoff.child("base")?.positiveDuration() { retry.backoff.base = value }
            if let value = backoff.child("max")?.positiveDuration() { retry.backoff.max = value }
            backoff.requireOrder("base", retry.backoff.base, atMost: "max", retry.backoff.max)
        }
        if let value = node.child("bodyBufferLimit")?.byteSize(in: 0...(64 * 1024 * 1024)) { retry.bodyBufferLimit = value }
        if let value = node.child("nonIdempotent")?.bool() { retry.nonIdempotent = value }
        return retry
    }

    static func decodeRequestMirror(_ node: ConfigNode) -> RequestMirror? {
        node.allowOnly(["backendRef", "percent"])
        guard node.isMapping else { return nil }
        guard let ref = node.child("backendRef") else {
            node.fail("backendRef is required (the service that gets the copies)")
            return nil
        }
        ref.allowOnly(["name", "port", "kind", "group"])
        guard ref.isMapping else { return nil }
        guard let nameNode = ref.child("name") else {
            ref.fail("name is required")
            return nil
        }
        guard let name = nameNode.string() else { return nil }
        return RequestMirror(backend: name, percent: node.child("percent")?.percent() ?? 100)
    }

    static func decodeFault(_ node: ConfigNode) -> FaultInjection? {
        node.allowOnly(["delay", "abort"])
        guard node.isMapping else { return nil }
        var fault = FaultInjection()
        if let delay = node.child("delay") {
            delay.allowOnly(["percent", "duration"])
            let percent = delay.child("percent")?.percent() ?? 100
            if let durationNode = delay.child("duration") {
                if let duration = durationNode.positiveDuration() { fault.delay = FaultInjection.Delay(percent: percent, duration: duration) }
            } else if delay.isMapping {
                delay.fail("duration is required (how long requests are held)")
            }
        }
        if let abort = node.child("abort") {
            abort.allowOnly(["percent", "status", "grpcStatus"])
            fault.abort = FaultInjection.Abort(
                percent: abort.child("percent")?.percent() ?? 100,
                status: abort.child("status")?.int(in: 200...599, "HTTP status") ?? 503,
                grpcStatus: abort.child("grpcStatus")?.grpcFailureStatus())
        }
        if node.child("delay") == nil, node.child("abort") == nil {
            node.fail("give delay, abort or both")
            return nil
        }
        return fault
    }
}
