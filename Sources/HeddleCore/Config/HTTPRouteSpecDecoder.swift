/// Reads the `spec` of an `HTTPRoute` resource.
enum HTTPRouteSpecDecoder {
    static func decode(_ node: ConfigNode) -> HTTPRouteSpec? {
        node.allowOnly(["parentRefs", "hostnames", "rules"])
        var spec = HTTPRouteSpec(rules: [])
        for ref in node.child("parentRefs")?.list() ?? [] {
            ref.allowOnly(["name", "kind", "group", "sectionName"])
            if let name = ref.child("name")?.string() { spec.parentRefs.append(name) } else if ref.child("name") == nil { ref.fail("name is required") }
        }
        for hostNode in node.child("hostnames")?.list() ?? [] {
            guard let host = hostNode.string() else { continue }
            if HTTPRouteSpecDecoder.isValidHostname(host) {
                spec.hostnames.append(host.lowercased())
            } else {
                hostNode.fail("'\(host)' is not a hostname (letters, digits, '-', '.', optionally starting with '*.'; no port)")
            }
        }
        guard let rules = node.child("rules")?.list() else {
            if node.child("rules") == nil { node.fail("rules is required") }
            return nil
        }
        if rules.isEmpty { node.child("rules")?.fail("must have at least one rule") }
        for rule in rules {
            if let decoded = decodeRule(rule) { spec.rules.append(decoded) }
        }
        return spec
    }

    static func isValidHostname(_ host: String) -> Bool {
        var body = Substring(host)
        if body.hasPrefix("*.") { body = body.dropFirst(2) }
        guard !body.isEmpty, body.count <= 253 else { return false }
        return body.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.count <= 63 && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    static func decodeRule(_ node: ConfigNode) -> HTTPRouteRule? {
        node.allowOnly(["name", "matches", "filters", "backendRefs", "timeouts", "retry"])
        var rule = HTTPRouteRule(backendRefs: [])
        rule.name = node.child("name")?.string()
        for match in node.child("matches")?.list() ?? [] {
            if let decoded = decodeMatch(match) { rule.matches.append(decoded) }
        }
        var mirrors: [(node: ConfigNode, mirror: RequestMirror)] = []
        var onceTypes: Set<String> = []
        for filter in node.child("filters")?.list() ?? [] {
            guard let decoded = decodeFilter(filter, rule: rule) else { continue }
            switch decoded {
            case .fault, .rateLimit:
                let type = filter.child("type")?.scalarString ?? ""
                if !onceTypes.insert(type).inserted { filter.fail("only one \(type) filter may be given per rule") }
            case .requestMirror(let mirror):
                mirrors.append((filter, mirror))
            case .requestHeaderModifier, .responseHeaderModifier, .urlRewrite:
                break
            }
            rule.filters.append(decoded)
        }
        if let timeouts = node.child("timeouts") { rule.timeouts = decodeTimeouts(timeouts) }
        if let retry = node.child("retry") {
            rule.retry = decodeRetry(retry)
            if rule.retry.on.contains(.perTryTimeout), rule.timeouts.backendRequest == nil {
                retry.child("on")?.fail("per-try-timeout needs timeouts.backendRequest, the time each try is given")
            }
        }
        guard let refs = node.child("backendRefs")?.list() else {
            node.fail("backendRefs is required (the services this rule sends to)")
            return nil
        }
        if refs.isEmpty { node.child("backendRefs")?.fail("must name at least one backend") }
        for ref in refs {
            ref.allowOnly(["name", "weight", "port", "kind", "group", "failover"])
            guard let nameNode = ref.child("name") else {
                ref.fail("name is required")
                continue
            }
            guard let name = nameNode.string() else { continue }
            let weight = ref.child("weight")?.int(in: 0...1_000_000, "relative weight") ?? 1
            var backend = BackendRef(name: name, weight: weight)
            if let failoverNode = ref.child("failover"), let failover = failoverNode.string() {
                if failover == name {
                    failoverNode.fail("must be a service other than the backend itself ('\(name)')")
                } else {
                    backend.failover = failover
                }
            }
            rule.backendRefs.append(backend)
        }
        if !rule.backendRefs.isEmpty, rule.backendRefs.allSatisfy({ $0.weight == 0 }) {
            node.child("backendRefs")?.fail("at least one backend needs a weight above 0")
        }
        let backendNames = Set(rule.backendRefs.map(\.name))
        for (filter, mirror) in mirrors where backendNames.contains(mirror.backend) {
            let nameNode = filter.child("requestMirror")?.child("backendRef")?.child("name") ?? filter
            nameNode.fail("'\(mirror.backend)' is a backend of this rule already; mirror to another service")
        }
        return rule
    }

    static func decodeMatch(_ node: ConfigNode) -> HTTPRouteMatch? {
        node.allowOnly(["path", "method", "headers", "queryParams"])
        var match = HTTPRouteMatch()
        if let path = node.child("path") {
            path.allowOnly(["type", "value"])
            let kind = path.child("type")?.oneOf(PathMatch.Kind.self) ?? .prefix
            let valueNode = path.child("value")
            let value = valueNode?.string() ?? "/"
            switch kind {
            case .exact, .prefix:
                if !value.hasPrefix("/") || value.contains(where: { $0 == "?" || $0 == "#" || $0.isWhitespace }) {
                    (valueNode ?? path).fail("'\(value)' must be a path starting with '/', without query, fragment or spaces")
                }
            case .regularExpression:
                checkRegex(value, at: valueNode ?? path)
            }
            match.path = PathMatch(kind: kind, value: value)
        }
        if let method = node.child("method") {
            if let text = method.string() {
                if isToken(text) { match.method = text } else { method.fail("'\(text)' is not an HTTP method") }
            }
        }
        match.headers = decodeValueMatches(node.child("headers"), lowercaseNames: true)
        match.queryParams = decodeValueMatches(node.child("queryParams"), lowercaseNames: false)
        return match
    }

    static func decodeValueMatches(_ node: ConfigNode?, lowercaseNames: Bool) -> [ValueMatch] {
        var matches: [ValueMatch] = []
        for item in node?.list() ?? [] {
            item.allowOnly(["name", "value", "type"])
            guard let nameNode = item.child("name"), let name = nameNode.string() else {
                if item.child("name") == nil { item.fail("name is required") }
                continue
            }
            if lowercaseNames, !isToken(name) { nameNode.fail("'\(name)' is not a valid header name") }
            guard let valueNode = item.child("value"), let value = valueNode.string() else {
                if item.child("value") == nil { item.fail("value is required") }
                continue
            }
            let kind = item.child("type")?.oneOf(ValueMatch.Kind.self) ?? .exact
            if kind == .regularExpression { checkRegex(value, at: valueNode) }
            matches.append(ValueMatch(name: lowercaseNames ? name.lowercased() : name, value: value, kind: kind))
        }
        return matches
    }

    static func decodeFilter(_ node: ConfigNode, rule: HTTPRouteRule) -> HTTPRouteFilter? {
        node.allowOnly(["type", "requestHeaderModifier", "responseHeaderModifier", "urlRewrite", "requestMirror", "fault", "rateLimit"])
        guard let typeNode = node.child("type"), let type = typeNode.string() else {
            if node.child("type") == nil {
                node.fail("type is required (RequestHeaderModifier, ResponseHeaderModifier, URLRewrite, RequestMirror, Fault or RateLimit)")
            }
            return nil
        }
        func body(_ key: String) -> ConfigNode? {
            guard let child = node.child(key) else {
                node.fail("\(key) is required for type \(type)")
                return nil
            }
            return child
        }
        switch type {
        case "RequestHeaderModifier":
            return body("requestHeaderModifier").map { .requestHeaderModifier(decodeHeaderModifier($0)) }
        case "ResponseHeaderModifier":
            return body("responseHeaderModifier").map { .responseHeaderModifier(decodeHeaderModifier($0)) }
        case "URLRewrite":
            guard let rewrite = body("urlRewrite") else { return nil }
            return .urlRewrite(decodeRewrite(rewrite, rule: rule))
        case "RequestMirror":
            return body("requestMirror").flatMap(decodeRequestMirror).map { .requestMirror($0) }
        case "Fault":
            return body("fault").flatMap(decodeFault).map { .fault($0) }
        case "RateLimit":
            return body("rateLimit").flatMap(RateLimitSpecDecoder.decode).map { .rateLimit($0) }
        default:
            typeNode.fail("'\(type)' is not a filter type (RequestHeaderModifier, ResponseHeaderModifier, URLRewrite, RequestMirror, Fault, RateLimit)")
            return nil
        }
    }

    static func decodeHeaderModifier(_ node: ConfigNode) -> HeaderModifier {
        node.allowOnly(["set", "add", "remove"])
        func values(_ key: String) -> [HeaderValue] {
            var result: [HeaderValue] = []
            for item in node.child(key)?.list() ?? [] {
                item.allowOnly(["name", "value"])
                guard let nameNode = item.child("name"), let name = nameNode.string(),
                      let valueNode = item.child("value"), let value = valueNode.string()
                else {
                    item.fail("name and value are required")
                    continue
                }
                if !isToken(name) { nameNode.fail("'\(name)' is not a valid header name") }
                if isReservedHeader(name.lowercased()) { nameNode.fail("'\(name)' is managed by the proxy (framing, hop-by-hop or Host) and cannot be set by a route; use URLRewrite.hostname for Host") }
                if !isFieldValue(value) { valueNode.fail("header values may not contain control characters or line breaks") }
                result.append(HeaderValue(name: name, value: value))
            }
            return result
        }
        var modifier = HeaderModifier(set: values("set"), add: values("add"))
        for item in node.child("remove")?.list() ?? [] {
            guard let name = item.string() else { continue }
            if !isToken(name) {
                item.fail("'\(name)' is not a valid header name")
            } else if ["content-length", "transfer-encoding", "host"].contains(name.lowercased()) {
                item.fail("'\(name)' frames or routes the message and cannot be removed by a route")
            } else {
                modifier.remove.append(name.lowercased())
            }
        }
        return modifier
    }

    static func decodeRewrite(_ node: ConfigNode, rule: HTTPRouteRule) -> URLRewrite {
        node.allowOnly(["hostname", "path"])
        var rewrite = URLRewrite()
        if let host = node.child("hostname"), let text = host.string() {
            if isValidHostname(text), !text.hasPrefix("*") { rewrite.hostname = text } else { host.fail("'\(text)' is not a hostname") }
        }
        if let path = node.child("path") {
            path.allowOnly(["type", "replaceFullPath", "replacePrefixMatch"])
            let type = path.child("type")?.string()
            switch type {
            case "ReplaceFullPath":
                if let value = path.child("replaceFullPath")?.string() {
                    if value.hasPrefix("/"), isPathText(value) { rewrite.path = .replaceFullPath(value) } else { path.fail("replaceFullPath must be a path starting with '/'") }
                } else {
                    path.fail("replaceFullPath is required for type ReplaceFullPath")
                }
            case "ReplacePrefixMatch":
                if let value = path.child("replacePrefixMatch")?.string() {
                    if value.hasPrefix("/"), isPathText(value) { rewrite.path = .replacePrefixMatch(value) } else { path.fail("replacePrefixMatch must be a path starting with '/'") }
                } else {
                    path.fail("replacePrefixMatch is required for type ReplacePrefixMatch")
                }
                // No matches means one PathPrefix "/" match.
                let prefixOnly = rule.matches.allSatisfy { $0.path.kind == .prefix }
                if !prefixOnly { path.fail("ReplacePrefixMatch needs every match of the rule to have a PathPrefix path") }
            default:
                path.fail("type must be ReplaceFullPath or ReplacePrefixMatch")
            }
        }
        return rewrite
    }

    static func checkRegex(_ pattern: String, at node: ConfigNode) {
        do {
            _ = try Regex(pattern)
        } catch {
            node.fail("'\(pattern)' is not a valid regular expression: \(error)")
        }
    }

    /// RFC 9110 token: the characters allowed in header names and methods.
    static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return true
            default:
                return "!#$%&'*+-.^_`|~".utf8.contains(byte)
            }
        }
    }

    static func isFieldValue(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }
    }

    static func isPathText(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#") }
    }

    static func isReservedHeader(_ lowercasedName: String) -> Bool {
        ["connection", "keep-alive", "proxy-connection", "te", "transfer-encoding", "upgrade", "trailer", "host", "content-length"].contains(lowercasedName)
    }
}
