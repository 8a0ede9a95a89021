import Crypto

/// One message of a proxy's watch stream (`GET /v1/watch`, newline-delimited JSON): the
/// configuration the proxy's service needs at `version` — whole, or as a delta.
///
/// The first message of a stream is whole (`baseVersion` absent): every resource. Each later
/// one is a delta from the version the stream sent before (`baseVersion`): the resources added
/// or changed (`resources`, whole documents) and the keys of those gone (`removed`). A proxy that
/// does not run `baseVersion` cannot apply it and reconnects for a whole configuration.
public struct ConfigPush: Codable, Hashable, Sendable {
    /// The store revision the push reflects; increases with every push to this proxy.
    public var version: Int64
    /// For a delta, the version it applies to; nil for a whole configuration.
    public var baseVersion: Int64?
    /// YAML documents, each with its key (`Service/web`): the `Service` resources the proxy
    /// may call, their endpoints filled in from the registry, and the `HTTPRoute` resources over
    /// them. The proxy adds its own `Proxy` resource and loads the whole as it loads a file.
    public var resources: [PushedResource]
    /// For a delta, the keys of the resources removed since `baseVersion`.
    public var removed: [String]

    /// A whole configuration.
    public init(version: Int64, resources: [PushedResource]) {
        self.version = version
        baseVersion = nil
        self.resources = resources
        removed = []
    }

    /// A delta from `baseVersion`.
    public init(version: Int64, baseVersion: Int64, changed: [PushedResource], removed: [String]) {
        self.version = version
        self.baseVersion = baseVersion
        resources = changed
        self.removed = removed
    }

    /// True for a delta.
    public var isDelta: Bool { baseVersion != nil }

    /// True for a delta that changes nothing (the answer to a watch resumed from what the
    /// control plane would send anyway).
    public var changesNothing: Bool { isDelta && resources.isEmpty && removed.isEmpty }

    /// What identifies the configuration's content, whatever its order and version: SHA-256 of
    /// the resources sorted by key, as lowercase hex. A proxy resuming its watch sends it with
    /// the version it holds (`WatchResume`).
    public var digest: String {
        var hash = SHA256()
        for resource in resources.sorted(by: { $0.key < $1.key }) {
            for part in [resource.key, resource.document] {
                var length = UInt64(part.utf8.count).bigEndian
                withUnsafeBytes(of: &length) { hash.update(bufferPointer: $0) }
                hash.update(data: Array(part.utf8))
            }
        }
        return hash.finalize().map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// The documents as one YAML stream, in order.
    public var yaml: String {
        resources.map { $0.document.hasSuffix("\n") ? $0.document : $0.document + "\n" }.joined(separator: "---\n")
    }

    /// What takes a proxy from `base` (a whole configuration) to this one: nil when nothing
    /// changed.
    public func delta(from base: ConfigPush) -> ConfigPush? {
        let before = Dictionary(base.resources.map { ($0.key, $0.document) }, uniquingKeysWith: { $1 })
        let keys = Set(resources.map(\.key))
        let changed = resources.filter { before[$0.key] != $0.document }
        let removed = base.resources.map(\.key).filter { !keys.contains($0) }
        guard !changed.isEmpty || !removed.isEmpty else { return nil }
        return ConfigPush(version: version, baseVersion: base.version, changed: changed, removed: removed)
    }

    /// This delta applied to `base`, a whole configuration at `baseVersion`: the whole
    /// configuration at `version` (changed resources in place, new ones at the end). Nil when
    /// `base` is not at `baseVersion`. A whole configuration is returned as it is.
    public func applied(to base: ConfigPush?) -> ConfigPush? {
        guard let baseVersion else { return self }
        guard let base, base.baseVersion == nil, base.version == baseVersion else { return nil }
        let changed = Dictionary(resources.map { ($0.key, $0) }, uniquingKeysWith: { $1 })
        let gone = Set(removed)
        var result = base.resources.filter { !gone.contains($0.key) }.map { changed[$0.key] ?? $0 }
        let present = Set(result.map(\.key))
        result += resources.filter { !present.contains($0.key) }
        return ConfigPush(version: version, resources: result)
    }

    private enum CodingKeys: String, CodingKey {
        case version, baseVersion, resources, removed
    }

    /// `baseVersion` and `removed` may be left out (a whole configuration).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        version = try container.decode(Int64.self, forKey: .version)
        baseVersion = try container.decodeIfPresent(Int64.self, forKey: .baseVersion)
        resources = try container.decode([PushedResource].self, forKey: .resources)
        removed = try container.decodeIfPresent([String].self, forKey: .removed) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(version, forKey: .version)
        try container.encodeIfPresent(baseVersion, forKey: .baseVersion)
        try container.encode(resources, forKey: .resources)
        if baseVersion != nil { try container.encode(removed, forKey: .removed) }
    }
}

/// What a proxy holds when it opens its watch again (`GET /v1/watch?...&version=V&digest=D`),
/// after a control plane went away or it restarted: the version of its whole configuration
/// and that configuration's `digest`. When what the control plane would send has the same
/// digest, the stream begins with an empty delta from `version` instead of a whole
/// configuration; otherwise with the whole.
public struct WatchResume: Hashable, Sendable {
    public var version: Int64
    public var digest: String

    public init(version: Int64, digest: String) {
        self.version = version
        self.digest = digest
    }

    /// The resume point of a whole configuration.
    public init(_ whole: ConfigPush) {
        self.init(version: whole.version, digest: whole.digest)
    }

    /// Reads the query parameters; nil when neither is given. Throws a message naming the
    /// fault for one without the other, a version that is not a number, or a digest that is
    /// not 64 hex digits.
    public static func parse(version: String?, digest: String?) throws(WatchResumeError) -> WatchResume? {
        switch (version, digest) {
        case (nil, nil):
            return nil
        case (let version?, let digest?):
            guard let number = Int64(version), number >= 0 else {
                throw WatchResumeError(message: "version: '\(version)' is not a version (a whole number)")
            }
            guard digest.utf8.count == 64, digest.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
                throw WatchResumeError(message: "digest: not a SHA-256 digest (64 lowercase hex digits)")
            }
            return WatchResume(version: number, digest: digest)
        default:
            throw WatchResumeError(message: "version and digest go together: give both to resume a watch, or neither")
        }
    }
}

/// Why the resume point of a watch request is not readable.
public struct WatchResumeError: Error, Hashable, Sendable {
    public var message: String
}

/// `POST /v1/proxies/{id}/calls`: services (or route hostnames) a proxy's app has just called
/// that its watch does not carry — on-demand discovery. The control plane widens the proxy's
/// watch to them and pushes what they need at once; names the proxy learned and its app no
/// longer calls (`remove`) leave the watch, and what only they needed is pushed away.
public struct CallsRequest: Codable, Hashable, Sendable {
    /// Names the app called that the watch does not carry: they join it.
    public var add: [String]
    /// Learned names the app no longer calls: they leave it.
    public var remove: [String]

    public init(add: [String] = [], remove: [String] = []) {
        self.add = add
        self.remove = remove
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        add = try container.decodeIfPresent([String].self, forKey: .add) ?? []
        remove = try container.decodeIfPresent([String].self, forKey: .remove) ?? []
    }
}

/// The answer to a `CallsRequest`: which names the mesh has a service or route for (now in
/// the proxy's watch, their push on its way), and which it has none for.
public struct CallsResult: Codable, Hashable, Sendable {
    public var known: [String]
    public var unknown: [String]

    public init(known: [String], unknown: [String]) {
        self.known = known
        self.unknown = unknown
    }
}

/// One resource of a push: `Kind/name` and its YAML document.
public struct PushedResource: Codable, Hashable, Sendable {
    public var key: String
    public var document: String

    public init(key: String, document: String) {
        self.key = key
        self.document = document
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
