/// Which requests a tap shows: by path prefix, method, and status (`503`, or a class `5xx`);
/// every condition given must hold. Parsed from the admin endpoint's query string.
struct TapFilter: Sendable, Equatable {
    var pathPrefix: String?
    var method: String?
    /// An exact status, or (`statusClass`) its hundreds.
    var status: Int?
    var statusClass: Int?

    init(pathPrefix: String? = nil, method: String? = nil, status: Int? = nil, statusClass: Int? = nil) {
        self.pathPrefix = pathPrefix
        self.method = method
        self.status = status
        self.statusClass = statusClass
    }

    /// `path=/api&method=GET&status=5xx`; nil with the reason when a value is invalid.
    static func parse(_ parameters: [String: String]) -> Result<TapFilter, TapFilterError> {
        var filter = TapFilter()
        if let path = parameters["path"], !path.isEmpty {
            guard path.hasPrefix("/") else { return .failure(TapFilterError("path must start with '/', not '\(path)'")) }
            filter.pathPrefix = path
        }
        if let method = parameters["method"], !method.isEmpty {
            guard method.utf8.allSatisfy({ (65...90).contains($0) }) else { return .failure(TapFilterError("method must be an upper-case token such as GET, not '\(method)'")) }
            filter.method = method
        }
        if let status = parameters["status"], !status.isEmpty {
            if status.count == 3, status.hasSuffix("xx"), let first = Int(status.prefix(1)), (1...5).contains(first) {
                filter.statusClass = first
            } else if let exact = Int(status), (100...599).contains(exact) {
                filter.status = exact
            } else {
                return .failure(TapFilterError("status must be a status (503) or a class (5xx), not '\(status)'"))
            }
        }
        return .success(filter)
    }

    func matches(method: Substring, path: Substring, status: Int) -> Bool {
        if let pathPrefix, !path.hasPrefix(pathPrefix) { return false }
        if let required = self.method, method != required { return false }
        if let required = self.status, status != required { return false }
        if let statusClass, status / 100 != statusClass { return false }
        return true
    }
}

struct TapFilterError: Error, Sendable {
    let reason: String

    init(_ reason: String) { self.reason = reason }
}
