import HeddleCore

/// One `HTTPRouteMatch` compiled: regexes built once, and a precedence key so the most
/// specific match is tried first (as the Gateway API orders them).
struct CompiledMatch: @unchecked Sendable {
    enum PathTest {
        case exact(String)
        case prefix(String)
        case regex(Regex<AnyRegexOutput>)
    }

    enum ValueTest {
        case exact(String)
        case regex(Regex<AnyRegexOutput>)

        func matches(_ value: Substring) -> Bool {
            switch self {
            case .exact(let expected): value == expected
            case .regex(let regex): (try? regex.wholeMatch(in: value)) != nil
            }
        }
    }

    let path: PathTest
    let method: String?
    let headers: [(name: String, test: ValueTest)]
    let queries: [(name: String, test: ValueTest)]
    /// Index of the rule in `RouteTable.rules`.
    let ruleIndex: Int
    /// Sort key: higher first. Exact path > longer prefix > regex, then method, then the
    /// number of header and query conditions; ties keep configuration order.
    let precedence: (Int, Int, Int, Int, Int)

    init(_ match: HTTPRouteMatch, ruleIndex: Int) {
        switch match.path.kind {
        case .exact:
            path = .exact(match.path.value)
        case .prefix:
            path = .prefix(match.path.value)
        case .regularExpression:
            path = .regex(Self.compileRegex(match.path.value))
        }
        method = match.method
        headers = match.headers.map { ($0.name, Self.valueTest($0)) }
        queries = match.queryParams.map { ($0.name, Self.valueTest($0)) }
        self.ruleIndex = ruleIndex
        let pathRank: (Int, Int) = switch match.path.kind {
        case .exact: (3, match.path.value.utf8.count)
        case .prefix: (2, match.path.value.utf8.count)
        case .regularExpression: (1, match.path.value.utf8.count)
        }
        precedence = (pathRank.0, pathRank.1, method == nil ? 0 : 1, headers.count, queries.count)
    }

    static func valueTest(_ match: ValueMatch) -> ValueTest {
        switch match.kind {
        case .exact: .exact(match.value)
        case .regularExpression: .regex(Self.compileRegex(match.value))
        }
    }

    /// Validation has already compiled every pattern; a pattern that still fails matches
    /// nothing, never everything.
    static func compileRegex(_ pattern: String) -> Regex<AnyRegexOutput> {
        if let compiled = try? Regex(pattern) { return compiled }
        return try! Regex("(?!)")
    }

    /// Whether the request satisfies every condition; for a prefix match, returns the prefix.
    func evaluate(_ request: some RouteRequest) -> (matched: Bool, prefix: String?) {
        var prefix: String?
        switch path {
        case .exact(let value):
            guard request.path == value else { return (false, nil) }
        case .prefix(let value):
            guard Self.pathHasPrefix(request.path, value) else { return (false, nil) }
            prefix = value
        case .regex(let regex):
            guard (try? regex.wholeMatch(in: request.path)) != nil else { return (false, nil) }
        }
        if let method, request.method != method { return (false, nil) }
        for (name, test) in headers {
            guard request.headerValues(name).contains(where: test.matches) else { return (false, nil) }
        }
        for (name, test) in queries {
            guard let value = request.queryValue(name), test.matches(value) else { return (false, nil) }
        }
        return (true, prefix)
    }

    /// Gateway API prefix semantics: element-wise, so `/api` matches `/api` and `/api/x` but
    /// not `/apix`; a trailing `/` in the prefix is ignored. Compared as UTF-8 bytes: request
    /// paths are ASCII (percent-encoded), so this is what comparing their characters gives,
    /// without the grapheme breaking and character counting `hasPrefix` and `dropFirst` do on a
    /// `Substring`.
    static func pathHasPrefix(_ path: Substring, _ prefix: String) -> Bool {
        let slash = UInt8(ascii: "/")
        let prefix = prefix.utf8
        if prefix.count == 1, prefix.first == slash { return true }
        let trimmedCount = prefix.last == slash ? prefix.count - 1 : prefix.count
        let path = path.utf8
        guard path.count >= trimmedCount else { return false }
        let restStart = path.index(path.startIndex, offsetBy: trimmedCount)
        guard path[..<restStart].elementsEqual(prefix.prefix(trimmedCount)) else { return false }
        return restStart == path.endIndex || path[restStart] == slash
    }
}
