/// Reads the `spec` of a `Proxy` resource.
enum ProxySpecDecoder {
    static func decode(_ node: ConfigNode?) -> ProxySpec? {
        var spec = ProxySpec()
        guard let node else { return spec }
        node.allowOnly(["outbound", "inbound", "admin", "gateways", "accessLog", "tracing", "http"])
        if let outbound = node.child("outbound") {
            outbound.allowOnly(["address", "protocol", "tcpService", "rateLimit"])
            spec.outbound = decodeListener(outbound, name: "outbound", defaultAddress: spec.outbound.address)
        }
        if let inbound = node.child("inbound") {
            inbound.allowOnly(["address", "appAddress", "appProtocol", "protocol", "rateLimit", "tls", "service"])
            let address = inbound.child("address")?.hostPort() ?? HostPort(host: "0.0.0.0", port: 4143)
            let proto = inbound.child("protocol")?.oneOf(ListenerProtocol.self) ?? .auto
            let rateLimit = inbound.child("rateLimit").flatMap(RateLimitSpecDecoder.decode)
            let tls = inbound.child("tls")?.oneOf(InboundTLSMode.self) ?? .strict
            let serviceNode = inbound.child("service")
            let service = serviceNode?.string()
            if let service, !ResourceMetadata.isValidName(service) { serviceNode?.fail("'\(service)' is not a valid service name") }
            let appProtocolNode = inbound.child("appProtocol")
            let appProtocol = appProtocolNode?.oneOf(UpstreamProtocol.self) ?? .http1
            if appProtocol == .tcp { appProtocolNode?.fail("must be http1, http2 or grpc (opaque TCP to the app needs no protocol: a tcp listener relays it)") }
            if let app = inbound.child("appAddress") {
                if let appAddress = app.hostPort() {
                    spec.inbound = InboundListenerSpec(address: address, appAddress: appAddress, protocol: proto, appProtocol: appProtocol, rateLimit: rateLimit, tls: tls, service: service)
                }
            } else {
                inbound.fail("appAddress is required: the local app's host:port")
            }
        }
        if let admin = node.child("admin") {
            admin.allowOnly(["address"])
            if let address = admin.child("address")?.hostPort() { spec.admin = address }
        }
        if let gateways = node.child("gateways")?.list() {
            var names: Set<String> = ["outbound", "inbound"]
            for gateway in gateways {
                gateway.allowOnly(["name", "address", "protocol", "tcpService", "rateLimit", "tls"])
                guard let nameNode = gateway.child("name") else {
                    gateway.fail("name is required")
                    continue
                }
                guard let name = nameNode.string() else { continue }
                guard ResourceMetadata.isValidName(name) else {
                    nameNode.fail("'\(name)' is not a valid listener name")
                    continue
                }
                guard names.insert(name).inserted else {
                    nameNode.fail("listener name '\(name)' is used twice")
                    continue
                }
                guard gateway.child("address") != nil else {
                    gateway.fail("address is required")
                    continue
                }
                var listener = decodeListener(gateway, name: name, defaultAddress: nil)
                listener.tls = gateway.child("tls").flatMap(decodeGatewayTLS)
                spec.gateways.append(listener)
            }
        }
        if let log = node.child("accessLog") {
            log.allowOnly(["mode", "sampleRate"])
            if let mode = log.child("mode")?.oneOf(AccessLogSpec.Mode.self) { spec.accessLog.mode = mode }
            if let rateNode = log.child("sampleRate"), let rate = rateNode.double() {
                if (0...1).contains(rate) { spec.accessLog.sampleRate = rate } else { rateNode.fail("must be between 0 and 1") }
            }
        }
        if let tracing = node.child("tracing") {
            spec.tracing = decodeTracing(tracing)
        }
        if let http = node.child("http") {
            spec.http = decodeHTTPSettings(http)
        }
        return spec
    }

    static func decodeTracing(_ node: ConfigNode) -> TracingSpec? {
        node.allowOnly(["collector", "sampleRate", "serviceName"])
        // Every field is read, so one load names every mistake.
        let rate = node.child("sampleRate")?.double(in: 0...1)
        var serviceName: String?
        if let nameNode = node.child("serviceName"), let name = nameNode.string() {
            if name.isEmpty { nameNode.fail("must not be empty") } else { serviceName = name }
        }
        guard let collectorNode = node.child("collector") else {
            node.fail("collector is required: the OTLP/HTTP endpoint spans go to (http://host:4318)")
            return nil
        }
        guard let collector = collectorNode.string() else { return nil }
        if let problem = TracingSpec.problem(withCollector: collector) {
            collectorNode.fail(problem)
            return nil
        }
        var spec = TracingSpec(collector: collector, serviceName: serviceName)
        if let rate { spec.sampleRate = rate }
        return spec
    }

    static func decodeGatewayTLS(_ node: ConfigNode) -> GatewayTLSSpec? {
        node.allowOnly(["certificates", "minimumVersion"])
        let minimum = node.child("minimumVersion")?.oneOf(GatewayTLSSpec.MinimumVersion.self) ?? .tls12
        guard let list = node.child("certificates")?.list() else {
            if node.child("certificates") == nil { node.fail("certificates is required (a list of {hosts, certificate, privateKey})") }
            return nil
        }
        if list.isEmpty { node.child("certificates")?.fail("give at least one certificate") }
        var certificates: [GatewayTLSSpec.CertificateSpec] = []
        var seenHosts: Set<String> = []
        for item in list {
            item.allowOnly(["hosts", "certificate", "privateKey"])
            let hosts = item.child("hosts")?.listOfDistinct { value -> String? in
                guard let host = value.string()?.lowercased() else { return nil }
                let bare = host.hasPrefix("*.") ? String(host.dropFirst(2)) : host
                if bare.isEmpty || bare.contains("*") || !bare.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "-" }) {
                    value.fail("'\(host)' is not a host name (exact, or *.domain)")
                } else if !seenHosts.insert(host).inserted {
                    value.fail("'\(host)' is served by another certificate already")
                }
                return host
            } ?? []
            if item.child("hosts") == nil { item.fail("hosts is required: the names this certificate serves") }
            guard let certificate = item.child("certificate")?.string(), let key = item.child("privateKey")?.string() else {
                item.fail("certificate and privateKey (PEM files) are required")
                continue
            }
            certificates.append(GatewayTLSSpec.CertificateSpec(hosts: hosts, certificate: certificate, privateKey: key))
        }
        return GatewayTLSSpec(certificates: certificates, minimumVersion: minimum)
    }

    static func decodeListener(_ node: ConfigNode, name: String, defaultAddress: HostPort?) -> ListenerSpec {
        let address = node.child("address")?.hostPort() ?? defaultAddress ?? HostPort(host: "0.0.0.0", port: 0)
        var listener = ListenerSpec(name: name, address: address)
        if let proto = node.child("protocol")?.oneOf(ListenerProtocol.self) { listener.protocol = proto }
        listener.tcpService = node.child("tcpService")?.string()
        listener.rateLimit = node.child("rateLimit").flatMap(RateLimitSpecDecoder.decode)
        if listener.protocol == .tcp, listener.tcpService == nil {
            node.fail("tcpService is required when protocol is tcp")
        }
        return listener
    }

    static func decodeHTTPSettings(_ node: ConfigNode) -> HTTPSettings {
        var settings = HTTPSettings()
        node.allowOnly([
            "maxHeadBytes", "maxHeaderCount", "headerReadTimeout", "idleTimeout", "requestTimeout",
            "connectTimeout", "upstreamIdleTimeout", "maxIdlePerEndpoint", "detectionTimeout", "drainGracePeriod",
        ])
        if let value = node.child("maxHeadBytes")?.int(in: 1024...1_048_576, "bytes") { settings.maxHeadBytes = value }
        if let value = node.child("maxHeaderCount")?.int(in: 1...10_000, "headers") { settings.maxHeaderCount = value }
        if let value = node.child("maxIdlePerEndpoint")?.int(in: 0...100_000, "connections") { settings.maxIdlePerEndpoint = value }
        let durations: [(String, WritableKeyPath<HTTPSettings, Duration>)] = [
            ("headerReadTimeout", \.headerReadTimeout), ("idleTimeout", \.idleTimeout),
            ("requestTimeout", \.requestTimeout), ("connectTimeout", \.connectTimeout),
            ("upstreamIdleTimeout", \.upstreamIdleTimeout), ("detectionTimeout", \.detectionTimeout),
            ("drainGracePeriod", \.drainGracePeriod),
        ]
        for (key, path) in durations {
            if let value = node.child(key)?.positiveDuration() { settings[keyPath: path] = value }
        }
        return settings
    }
}
