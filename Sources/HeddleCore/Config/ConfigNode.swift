import Yams

/// A YAML node with the field path that leads to it, for strict reading: every read names its
/// field, unknown fields are refused, and each error carries the path and the source line.
struct ConfigNode {
    let node: Node
    let path: String
    private let collector: ErrorCollector

    init(_ node: Node, path: String, collector: ErrorCollector) {
        self.node = node
        self.path = path
        self.collector = collector
    }

    var line: Int? { node.mark.map { $0.line } }

    func fail(_ reason: String) {
        collector.errors.append(ConfigError(path: path, reason: reason, line: line))
    }

    func child(_ key: String) -> ConfigNode? {
        guard let mapping = node.mapping, let value = mapping[key] else { return nil }
        if case .scalar = value, value.null != nil { return nil }
        return ConfigNode(value, path: path.isEmpty ? key : "\(path).\(key)", collector: collector)
    }

    /// True when this mapping has `key`, even with an empty value (`tcp:`), unlike `child`.
    func has(_ key: String) -> Bool {
        node.mapping?[key] != nil
    }

    /// Fails for every key of this mapping that is not in `known`, so a typo never goes unnoticed.
    func allowOnly(_ known: Set<String>) {
        guard let mapping = node.mapping else {
            fail("must be a mapping")
            return
        }
        for key in mapping.keys {
            guard let name = key.string else {
                fail("keys must be strings")
                continue
            }
            if !known.contains(name) {
                let field = path.isEmpty ? name : "\(path).\(name)"
                collector.errors.append(ConfigError(
                    path: field,
                    reason: "unknown field (expected one of: \(known.sorted().joined(separator: ", ")))",
                    line: key.mark?.line))
            }
        }
    }

    var isMapping: Bool { node.mapping != nil }

    var isEmptyMapping: Bool { node.mapping?.isEmpty == true }

    var items: [ConfigNode]? {
        guard case .sequence(let sequence) = node else { return nil }
        return sequence.enumerated().map { index, item in
            ConfigNode(item, path: "\(path)[\(index)]", collector: collector)
        }
    }

    var mappingPairs: [(key: String, value: ConfigNode)]? {
        guard let mapping = node.mapping else { return nil }
        return mapping.compactMap { key, value in
            guard let name = key.string else { return nil }
            return (name, ConfigNode(value, path: "\(path).\(name)", collector: collector))
        }
    }

    var scalarString: String? {
        guard case .scalar(let scalar) = node else { return nil }
        return scalar.string
    }

    // MARK: typed reads; each returns nil after recording an error when the value is wrong.

    func string() -> String? {
        guard let value = scalarString else {
            fail("must be a string")
            return nil
        }
        return value
    }

    func int() -> Int? {
        guard let text = scalarString, let value = Int(text) else {
            fail("must be an integer")
            return nil
        }
        return value
    }

    func double() -> Double? {
        guard let text = scalarString, let value = Double(text), value.isFinite else {
            fail("must be a number")
            return nil
        }
        return value
    }

    func bool() -> Bool? {
        switch scalarString?.lowercased() {
        case "true": return true
        case "false": return false
        default:
            fail("must be true or false")
            return nil
        }
    }

    func duration() -> Duration? {
        guard let text = scalarString else {
            fail("must be a duration such as 250ms, 15s or 1m")
            return nil
        }
        guard let value = Duration(configText: text) else {
            fail("'\(text)' is not a duration (use a number with ms, s, m or h, such as 250ms or 15s)")
            return nil
        }
        return value
    }

    func list() -> [ConfigNode]? {
        guard let items else {
            fail("must be a list")
            return nil
        }
        return items
    }

    func oneOf<T: RawRepresentable>(_ type: T.Type) -> T? where T.RawValue == String, T: CaseIterable {
        guard let text = string() else { return nil }
        guard let value = T(rawValue: text) else {
            fail("'\(text)' is not one of: \(T.allCases.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        return value
    }

    func stringMap() -> [String: String]? {
        guard let pairs = mappingPairs else {
            fail("must be a mapping of strings")
            return nil
        }
        var result: [String: String] = [:]
        for (key, value) in pairs {
            if let text = value.string() { result[key] = text }
        }
        return result
    }
}

/// Collects the errors found while reading one resource.
final class ErrorCollector {
    var errors: [ConfigError] = []
}
