import Yams

/// Reads resources from YAML (one or more `---`-separated documents), strictly: unknown fields,
/// wrong types and out-of-range values are errors with their field path and line.
public enum ResourceDecoder {
    /// Decodes every document; throws `ConfigErrors` listing every problem found.
    public static func decode(yaml: String) throws(ConfigErrors) -> [Resource] {
        var documents: [Node] = []
        do {
            // The sequence stops quietly at a syntax error and keeps it: check it, or a broken
            // document would drop itself and everything after it without a word.
            //
            // `.basic`: no tag resolution. The decoder reads scalars by their text and style
            // (ConfigNode), never by resolved tag, and Yams' default resolver compiles seven
            // NSRegularExpressions, which loads ICU's regex engine into every proxy: ~1.5 MiB
            // of resident memory for nothing (BENCHMARKS.md, "Memory").
            var sequence = try compose_all(yaml: yaml, .basic)
            while let document = sequence.next() {
                documents.append(document)
            }
            if let error = sequence.error { throw error }
        } catch {
            throw ConfigErrors([ConfigError(path: "", reason: "invalid YAML: \(error)")])
        }
        // Empty documents (a trailing or doubled `---`) are skipped, as kubectl does.
        documents.removeAll { document in
            if case .scalar = document, document.null != nil { return true }
            return false
        }
        var resources: [Resource] = []
        var errors: [ConfigError] = []
        for (index, document) in documents.enumerated() {
            let collector = ErrorCollector()
            let root = ConfigNode(document, path: "", collector: collector)
            let resource = decodeResource(root)
            let name = root.child("metadata")?.child("name")?.scalarString
            let kind = root.child("kind")?.scalarString ?? "document \(index + 1)"
            for var error in collector.errors {
                error.resource = name.map { "\(kind)/\($0)" } ?? kind
                errors.append(error)
            }
            if collector.errors.isEmpty, let resource { resources.append(resource) }
        }
        guard errors.isEmpty else { throw ConfigErrors(errors) }
        return resources
    }

    static func decodeResource(_ root: ConfigNode) -> Resource? {
        guard root.isMapping else {
            root.fail("a resource must be a mapping with apiVersion, kind, metadata and spec")
            return nil
        }
        root.allowOnly(["apiVersion", "kind", "metadata", "spec"])
        guard let kindNode = root.child("kind") else {
            root.fail("kind is required (one of: \(ResourceKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            return nil
        }
        guard let kind = kindNode.oneOf(ResourceKind.self) else { return nil }
        let accepted = kind == .httpRoute ? [heddleAPIVersion, gatewayAPIVersion] : [heddleAPIVersion]
        if let version = root.child("apiVersion") {
            if let text = version.string(), !accepted.contains(text) {
                version.fail("'\(text)' is not supported for \(kind.rawValue) (use \(accepted.joined(separator: " or ")))")
            }
        } else {
            root.fail("apiVersion is required (\(accepted[0]))")
        }
        guard let metadata = decodeMetadata(root.child("metadata"), parent: root) else { return nil }
        let spec = root.child("spec")
        if spec == nil, kind != .proxy {
            root.fail("spec is required")
            return nil
        }
        switch kind {
        case .proxy:
            return ProxySpecDecoder.decode(spec).map { .proxy(metadata, $0) }
        case .service:
            return spec.flatMap(ServiceSpecDecoder.decode).map { .service(metadata, $0) }
        case .httpRoute:
            return spec.flatMap(HTTPRouteSpecDecoder.decode).map { .httpRoute(metadata, $0) }
        case .authorizationPolicy:
            return spec.flatMap(AuthorizationPolicySpecDecoder.decode).map { .authorizationPolicy(metadata, $0) }
        }
    }

    static func decodeMetadata(_ node: ConfigNode?, parent: ConfigNode) -> ResourceMetadata? {
        guard let node else {
            parent.fail("metadata.name is required")
            return nil
        }
        node.allowOnly(["name", "namespace", "labels", "annotations"])
        guard let nameNode = node.child("name") else {
            node.fail("name is required")
            return nil
        }
        guard let name = nameNode.string() else { return nil }
        guard ResourceMetadata.isValidName(name) else {
            nameNode.fail("'\(name)' is not a valid name (lowercase letters, digits and '-', at most 63 characters)")
            return nil
        }
        let labels = node.child("labels")?.stringMap() ?? [:]
        return ResourceMetadata(name: name, labels: labels)
    }
}

extension ConfigNode {
    func hostPort() -> HostPort? {
        guard let text = string() else { return nil }
        guard let value = HostPort(text) else {
            fail("'\(text)' is not an address of the form host:port (IPv6 as [::1]:port)")
            return nil
        }
        return value
    }

    func int(in range: ClosedRange<Int>, _ what: String) -> Int? {
        guard let value = int() else { return nil }
        guard range.contains(value) else {
            if range.upperBound == .max {
                fail("must be ≥ \(range.lowerBound)")
            } else {
                fail("must be between \(range.lowerBound) and \(range.upperBound) (\(what))")
            }
            return nil
        }
        return value
    }

    func positiveDuration() -> Duration? {
        guard let value = duration() else { return nil }
        guard value > .zero else {
            fail("must be greater than zero")
            return nil
        }
        return value
    }
}
