/// Every list the API answers (`GET /v1/resources`, `/v1/instances`, `/v1/services`,
/// `/v1/proxies`): the items, and the store revision they were read at.
public struct ItemList<Item: Codable & Hashable & Sendable>: Codable, Hashable, Sendable {
    /// The store revision the list reflects.
    public var revision: Int64
    public var items: [Item]

    public init(revision: Int64, items: [Item]) {
        self.revision = revision
        self.items = items
    }
}

/// `DELETE /v1/resources/{kind}/{name}`: what was deleted, and the revision of the deletion.
public struct DeleteResult: Codable, Hashable, Sendable {
    public var kind: String
    public var name: String
    public var revision: Int64

    public init(kind: String, name: String, revision: Int64) {
        self.kind = kind
        self.name = name
        self.revision = revision
    }
}
