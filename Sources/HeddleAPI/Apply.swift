/// `POST /v1/apply`: one or more YAML documents, validated whole; each valid one is stored, an
/// invalid one is refused with its field paths and changes nothing.
public struct ApplyRequest: Codable, Hashable, Sendable {
    /// Multi-document YAML (`---` between documents).
    public var yaml: String
    /// Validate and report what would change, storing nothing.
    public var dryRun: Bool

    public init(yaml: String, dryRun: Bool = false) {
        self.yaml = yaml
        self.dryRun = dryRun
    }
}

/// What `apply` did with each document.
public struct ApplyResult: Codable, Hashable, Sendable {
    public enum Action: String, Codable, Hashable, Sendable {
        case created
        case updated
        case unchanged
        case refused
    }

    public struct Item: Codable, Hashable, Sendable {
        public var kind: String
        public var name: String
        public var action: Action
        /// The revision the resource has after the apply (nil when refused or a dry run).
        public var revision: Int64?
        public var errors: [FieldError]
        /// For an update, the previous document (a dry run shows it, for a diff).
        public var previous: String?

        public init(kind: String, name: String, action: Action, revision: Int64? = nil, errors: [FieldError] = [], previous: String? = nil) {
            self.kind = kind
            self.name = name
            self.action = action
            self.revision = revision
            self.errors = errors
            self.previous = previous
        }
    }

    public var items: [Item]
    /// The store revision after the apply.
    public var revision: Int64

    public init(items: [Item], revision: Int64) {
        self.items = items
        self.revision = revision
    }
}
