/// A configuration resource as the control plane's API serves it: the document as applied,
/// its revisions, and its status.
public struct ResourceEnvelope: Codable, Hashable, Sendable {
    /// `Service` or `HTTPRoute` (the `kind` of the document).
    public var kind: String
    public var name: String
    /// The store revision of the resource's last change; a write that names it
    /// (`expectedRevision`) fails with 409 if the resource changed since.
    public var revision: Int64
    /// The store revision at which the resource was created.
    public var createdRevision: Int64
    /// The resource's YAML document, as applied (one document, `apiVersion` to `spec`).
    public var document: String
    public var status: ResourceStatus
    /// Which connected proxies run the resource; nil for a resource that is not pushed to
    /// sidecars (refused, or a route attached only to gateway listeners).
    public var rollout: ResourceRollout?

    public init(
        kind: String, name: String, revision: Int64, createdRevision: Int64, document: String, status: ResourceStatus,
        rollout: ResourceRollout? = nil
    ) {
        self.kind = kind
        self.name = name
        self.revision = revision
        self.createdRevision = createdRevision
        self.document = document
        self.status = status
        self.rollout = rollout
    }
}

/// Where an accepted resource runs: among the proxies watching now, by id, those that
/// acknowledged a version at or past the resource's revision (`running`), those that rejected
/// such a version (`rejected`, reasons in `GET /v1/proxies`), and those that have not answered
/// one yet (`pending`).
public struct ResourceRollout: Codable, Hashable, Sendable {
    public var running: [String]
    public var pending: [String]
    public var rejected: [String]

    public init(running: [String] = [], pending: [String] = [], rejected: [String] = []) {
        self.running = running
        self.pending = pending
        self.rejected = rejected
    }

    /// Every proxy counted.
    public var total: Int { running.count + pending.count + rejected.count }
}

/// Whether the mesh runs a resource: `accepted`, or `refused` with the reasons (a route naming a
/// service that does not exist, say). A refused resource never blocks the others.
public struct ResourceStatus: Codable, Hashable, Sendable {
    public enum State: String, Codable, Hashable, Sendable {
        case accepted
        case refused
    }

    public var state: State
    public var errors: [FieldError]
    /// What runs, but may not do what was meant: a route whose backend is no declared
    /// `Service` (its requests go to the instances registered under that name, and are answered
    /// 503 `no-endpoints` while there are none).
    public var warnings: [FieldError]

    public init(state: State, errors: [FieldError] = [], warnings: [FieldError] = []) {
        self.state = state
        self.errors = errors
        self.warnings = warnings
    }

    private enum CodingKeys: String, CodingKey {
        case state, errors, warnings
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        state = try container.decode(State.self, forKey: .state)
        errors = try container.decodeIfPresent([FieldError].self, forKey: .errors) ?? []
        warnings = try container.decodeIfPresent([FieldError].self, forKey: .warnings) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(state, forKey: .state)
        try container.encode(errors, forKey: .errors)
        if !warnings.isEmpty { try container.encode(warnings, forKey: .warnings) }
    }
}

/// One thing wrong with a resource: where (`path`, as `spec.rules[0].backendRefs[1].weight`) and
/// why.
public struct FieldError: Codable, Hashable, Sendable {
    /// `Kind/name` of the resource.
    public var resource: String
    public var path: String
    public var reason: String
    /// The line in the applied text, when known.
    public var line: Int?

    public init(resource: String, path: String, reason: String, line: Int? = nil) {
        self.resource = resource
        self.path = path
        self.reason = reason
        self.line = line
    }
}
