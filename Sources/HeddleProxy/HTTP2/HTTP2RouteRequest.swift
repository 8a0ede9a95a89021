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
        query.flatMap { QueryString.value(of: name, in: $0) }
    }
}
