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

/// What `apply` did with each document. A refused document changes nothing and never blocks the
/// others; a stored resource may still be refused by the mesh (its `status`), such as a route
/// whose backend names no service.
public struct ApplyResult: Codable, Hashable, Sendable {
    /// What happened to one document.
    public enum Action: String, Codable, Hashable, Sendable {
        case created
        case updated
        /// Identical to the stored document: nothing was written.
        case unchanged
        /// Invalid (see `errors`): nothing was written.
        case refused
    }

    /// One document of the request, in the order given.
    public struct Item: Codable, Hashable, Sendable {
        /// The document's position in the request, from 1.
        public var document: Int
        /// The document's `kind` and `metadata.name`, as far as they could be read ("" when not).
        public var kind: String
        public var name: String
        public var action: Action
        /// The revision the resource has after the apply (nil when refused or a dry run).
        public var revision: Int64?
        /// Why the document was refused.
        public var errors: [FieldError]
        /// Whether the mesh runs the resource, judged with every other resource (nil when
        /// refused).
        public var status: ResourceStatus?
        /// For an update in a dry run, the stored document it would replace (for a diff).
        public var previous: String?
        /// For an update in a dry run, the document as it would be stored.
        public var proposed: String?

        public init(
            document: Int, kind: String, name: String, action: Action, revision: Int64? = nil, errors: [FieldError] = [],
            status: ResourceStatus? = nil, previous: String? = nil, proposed: String? = nil
        ) {
            self.document = document
            self.kind = kind
            self.name = name
            self.action = action
            self.revision = revision
            self.errors = errors
            self.status = status
            self.previous = previous
            self.proposed = proposed
        }
    }

    public var items: [Item]
    /// The store revision after the apply.
    public var revision: Int64
    /// True when nothing was stored because the request asked for a dry run.
    public var dryRun: Bool

    public init(items: [Item], revision: Int64, dryRun: Bool = false) {
        self.items = items
        self.revision = revision
        self.dryRun = dryRun
    }
}

extension ApplyRequest {
    private enum CodingKeys: String, CodingKey {
        case yaml, dryRun
    }

    /// `dryRun` may be left out (false).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(yaml: try container.decode(String.self, forKey: .yaml), dryRun: try container.decodeIfPresent(Bool.self, forKey: .dryRun) ?? false)
    }
}
