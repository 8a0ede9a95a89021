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
