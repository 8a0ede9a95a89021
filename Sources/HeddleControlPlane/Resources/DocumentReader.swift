import HeddleAPI
import HeddleCore
import Yams

/// One applied document, read: the resource it holds, or why it is refused.
enum ReadDocument: Sendable {
    case resource(Resource, text: String)
    case refused(kind: String, name: String, errors: [FieldError])
}

/// Reads one document of an apply with HeddleCore's strict decoder. Line numbers in errors are
/// those of the whole request, and a document that names no resource is called `document N`.
enum DocumentReader {
    static func read(_ document: YAMLDocument, number: Int) -> ReadDocument {
        // Blank lines in front keep every line number (the decoder's and the YAML parser's)
        // those of the whole request.
        let padded = String(repeating: "\n", count: document.firstLine - 1) + document.text
        let root = try? Yams.compose(yaml: padded)
        let (kind, name, kindLine) = identity(root)
        let unnamed = "document \(number)"
        let fallback = name.map { "\(kind ?? unnamed)/\($0)" } ?? kind ?? unnamed
        if let root, !fits(root, within: maximumNodes) {
            let reason = "the document expands to more than \(maximumNodes) YAML nodes (through its aliases)"
            return .refused(kind: kind ?? "", name: name ?? "", errors: [FieldError(resource: fallback, path: "", reason: reason, line: document.firstLine)])
        }
        let resources: [Resource]
        do {
            resources = try ResourceDecoder.decode(yaml: padded)
        } catch {
            let errors = error.errors.map { error in
                var error = error
                // The decoder numbers documents within what it was given: this one alone.
                if let resource = error.resource, resource.hasPrefix("document 1") {
                    error.resource = unnamed + resource.dropFirst("document 1".count)
                }
                return FieldError(error, resource: fallback)
            }
            return .refused(kind: kind ?? "", name: name ?? "", errors: errors)
        }
        guard resources.count == 1, let resource = resources.first else {
            let reason = "the document holds \(resources.count) resources; separate resources with a line '---'"
            return .refused(kind: kind ?? "", name: name ?? "", errors: [FieldError(resource: fallback, path: "", reason: reason, line: document.firstLine)])
        }
        guard ResourceKey.storedKinds.contains(resource.kind) else {
            let reason = "the control plane does not keep \(resource.kind.rawValue) resources: \(ResourceKey.proxyRefusal)"
            let error = FieldError(resource: resource.reference, path: "kind", reason: reason, line: kindLine ?? document.firstLine)
            return .refused(kind: resource.kind.rawValue, name: resource.metadata.name, errors: [error])
        }
        return .resource(resource, text: document.text)
    }

    /// The most YAML nodes a document may hold once its aliases are expanded: far beyond any
    /// real resource, far below what would tie up the control plane (an alias "bomb" of a few
    /// lines can stand for billions).
    static let maximumNodes = 100_000

    /// True when `root`, aliases expanded, has at most `limit` nodes; stops counting there.
    private static func fits(_ root: Node, within limit: Int) -> Bool {
        var count = 0
        var pending = [root]
        while let node = pending.popLast() {
            count += 1
            if count > limit { return false }
            switch node {
            case .mapping(let mapping):
                for (key, value) in mapping { pending.append(key); pending.append(value) }
            case .sequence(let sequence):
                pending.append(contentsOf: sequence)
            case .scalar, .alias:
                continue
            }
        }
        return true
    }

    /// The document's `kind`, `metadata.name` and the line of `kind`, as far as they can be read.
    private static func identity(_ root: Node?) -> (kind: String?, name: String?, kindLine: Int?) {
        guard case .mapping(let mapping)? = root else { return (nil, nil, nil) }
        let kindPair = mapping.first { $0.key.string == "kind" }
        let kind = kindPair?.value.scalar?.string
        let metadata = mapping.first { $0.key.string == "metadata" }?.value.mapping
        let name = metadata?.first { $0.key.string == "name" }?.value.scalar?.string
        return (kind, name, kindPair?.key.mark?.line)
    }
}
