import HeddlePolicy
import NIOHPACK

/// An HTTP/2 request's header block seen through the route table's eyes: the host from
/// `:authority` (else `host`), the path and query from `:path`, the method from `:method`.
struct HTTP2RouteRequest: RouteRequest {
    let headers: HPACKHeaders
    let host: Substring
    let path: Substring
    let method: Substring
    let query: Substring?
    /// `:path` as received (path and query).
    let target: String
    /// The authority as received, for logs and errors.
    let authority: String

    init(headers: HPACKHeaders) {
        self.headers = headers
        method = Substring(headers.first(name: ":method") ?? "")
        authority = headers.first(name: ":authority") ?? headers.first(name: "host") ?? ""
        host = Substring(Self.normalizedHost(authority))
        target = headers.first(name: ":path") ?? ""
        if let mark = target.firstIndex(of: "?") {
            path = target[..<mark]
            query = target[target.index(after: mark)...]
        } else {
            path = Substring(target)
            query = nil
        }
    }

    /// The authority lowercased, without userinfo, port or a trailing dot.
    static func normalizedHost(_ authority: String) -> String {
        var host = Substring(authority)
        if let at = host.lastIndex(of: "@") { host = host[host.index(after: at)...] }
        if host.hasPrefix("[") {
            if let close = host.firstIndex(of: "]") { host = host[...close] }
        } else if let colon = host.lastIndex(of: ":") {
            host = host[..<colon]
        }
        if host.hasSuffix(".") { host = host.dropLast() }
        return host.lowercased()
    }

    /// Whether the request is a gRPC call: its content type is `application/grpc` or one of
    /// its `+proto`/`+json` variants.
    var isGRPC: Bool {
        guard let contentType = headers.first(name: "content-type") else { return false }
        return contentType.utf8.count >= 16 && contentType.lowercased().hasPrefix("application/grpc")
    }

    func headerValues(_ lowercasedName: String) -> [Substring] {
        headers[lowercasedName].map { Substring($0) }
    }

    func queryValue(_ name: String) -> Substring? {
        guard let query else { return nil }
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if parts[0] == name { return parts.count > 1 ? parts[1] : "" }
        }
        return nil
    }

    /// The value of a cookie, for ring-hash affinity; HTTP/2 clients may split cookies over
    /// several `cookie` fields.
    func cookie(_ name: String) -> Substring? {
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
