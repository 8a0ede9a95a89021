/// One message of a proxy's watch stream (`GET /v1/watch`, newline-delimited JSON): the
/// configuration the proxy's service needs at `version`.
public struct ConfigPush: Codable, Hashable, Sendable {
    /// The store revision the push reflects; increases with every push to this proxy.
    public var version: Int64
    /// YAML documents: the `Service` resources the proxy may call, their endpoints filled in
    /// from the registry, and the `HTTPRoute` resources over them. The proxy adds its own
    /// `Proxy` resource and loads the whole as it loads a file.
    public var yaml: String

    public init(version: Int64, yaml: String) {
        self.version = version
        self.yaml = yaml
    }
}

/// `POST /v1/proxies/{id}/ack`: the proxy's answer to a push. A rejected version leaves the
/// proxy on its last good configuration; the reason shows in the resource status.
public struct PushAck: Codable, Hashable, Sendable {
    public var version: Int64
    public var accepted: Bool
    public var errors: [FieldError]

    public init(version: Int64, accepted: Bool, errors: [FieldError] = []) {
        self.version = version
        self.accepted = accepted
        self.errors = errors
    }
}

/// What the control plane knows of one proxy (`GET /v1/proxies`): whether it watches now, the
/// last version pushed to it, and its answer to the last version it acknowledged.
public struct ProxyStatus: Codable, Hashable, Sendable {
    /// The id the proxy watches with (`GET /v1/watch?proxy=ID`).
    public var id: String
    /// The service the proxy watches for, when it named one.
    public var service: String?
    /// True while the proxy has a watch stream open.
    public var connected: Bool
    /// The version of the last push sent to the proxy.
    public var pushedVersion: Int64?
    /// The version the proxy last acknowledged, and whether it runs it.
    public var ackedVersion: Int64?
    public var accepted: Bool?
    /// Why the proxy rejected `ackedVersion`.
    public var errors: [FieldError]

    public init(
        id: String, service: String? = nil, connected: Bool, pushedVersion: Int64? = nil, ackedVersion: Int64? = nil, accepted: Bool? = nil,
        errors: [FieldError] = []
    ) {
        self.id = id
        self.service = service
        self.connected = connected
        self.pushedVersion = pushedVersion
        self.ackedVersion = ackedVersion
        self.accepted = accepted
        self.errors = errors
    }
}

extension PushAck {
    private enum CodingKeys: String, CodingKey {
        case version, accepted, errors
    }

    /// `errors` may be left out (none).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            version: try container.decode(Int64.self, forKey: .version), accepted: try container.decode(Bool.self, forKey: .accepted),
            errors: try container.decodeIfPresent([FieldError].self, forKey: .errors) ?? [])
    }
}
