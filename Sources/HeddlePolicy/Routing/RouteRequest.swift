/// What the route table needs to know of a request. The proxy implements it over its parsed
/// request head, reading fields on demand so that unmatched headers are never materialised.
public protocol RouteRequest {
    /// The request's host, lowercased, without port.
    var host: Substring { get }
    /// The path, without the query.
    var path: Substring { get }
    var method: Substring { get }
    /// The values of a header, by lowercased name, in order.
    func headerValues(_ lowercasedName: String) -> [Substring]
    /// The first value of a query parameter, by exact name.
    func queryValue(_ name: String) -> Substring?
}

extension RouteRequest {
    /// The value of a cookie in the Cookie field(s), for ring-hash affinity; HTTP/2 clients may
    /// split cookies over several fields.
    public func cookie(_ name: String) -> Substring? {
        for header in headerValues("cookie") {
            for pair in header.split(separator: ";") {
                let trimmed = pair.drop(while: { $0 == " " })
                let parts = trimmed.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                if parts.count == 2, parts[0] == name { return parts[1] }
            }
        }
        return nil
    }
}

/// Reading a request's query string, the same way for every protocol.
public enum QueryString {
    /// The first value of parameter `name` in `query` (without the `?`); `""` for a parameter
    /// without `=`.
    public static func value(of name: String, in query: Substring) -> Substring? {
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if parts[0] == name { return parts.count > 1 ? parts[1] : "" }
        }
        return nil
    }
}
