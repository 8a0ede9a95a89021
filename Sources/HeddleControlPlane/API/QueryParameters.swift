import Foundation
import Hummingbird

/// `text` percent-encoded for a query value sent on to a proxy's admin endpoint.
func queryEscaped(_ text: String) -> String {
    text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~/"))) ?? text
}

extension Request {
    /// The query parameter `name` as a boolean (`true`/`false`, `1`/`0`); `fallback` when absent.
    func booleanQuery(_ name: String, fallback: Bool = false) throws -> Bool {
        guard let text = uri.queryParameters.get(name) else { return fallback }
        switch text.lowercased() {
        case "true", "1": return true
        case "false", "0": return false
        default: throw APIFailure.invalid("\(name) must be true or false, not '\(text)'")
        }
    }

    /// The query parameter `name` as a revision; nil when absent.
    func revisionQuery(_ name: String) throws -> Int64? {
        guard let text = uri.queryParameters.get(name) else { return nil }
        guard let value = Int64(text), value >= 0 else {
            throw APIFailure.invalid("\(name) must be a revision (a whole number ≥ 0), not '\(text)'")
        }
        return value
    }
}
