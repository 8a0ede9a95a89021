/// One problem found in a configuration resource: where (a field path such as
/// `spec.rules[0].backendRefs[1].weight`) and why.
public struct ConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The resource the problem is in, as `Kind/name`, when known.
    public var resource: String?
    /// The field path inside the resource, such as `spec.rules[0].matches[0].path.value`.
    public var path: String
    /// What is wrong, in words an operator can act on.
    public var reason: String
    /// The line in the source file, when the problem came from a file.
    public var line: Int?

    public init(resource: String? = nil, path: String, reason: String, line: Int? = nil) {
        self.resource = resource
        self.path = path
        self.reason = reason
        self.line = line
    }

    public var description: String {
        var text = ""
        if let resource { text += "\(resource): " }
        text += path.isEmpty ? reason : "\(path): \(reason)"
        if let line { text += " (line \(line))" }
        return text
    }
}

/// Every problem found while loading or validating a configuration; the configuration is
/// refused as a whole when this is thrown.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [ConfigError]

    public init(_ errors: [ConfigError]) {
        self.errors = errors
    }

    public var description: String {
        errors.map(\.description).joined(separator: "\n")
    }
}
