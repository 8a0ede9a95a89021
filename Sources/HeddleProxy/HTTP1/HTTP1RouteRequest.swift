import HeddleHTTP1
import HeddlePolicy
import NIOCore

/// A parsed HTTP/1 request head seen through the route table's eyes. Strings are made only
/// for the parts a route asks about. Public for the micro benchmarks (`benchmarks/micro`),
/// which route with the proxy's own request view.
public struct HTTP1RouteRequest: RouteRequest {
    let head: HTTP1Head
    public let host: Substring
    public let path: Substring
    public let method: Substring

    public init(head: HTTP1Head) {
        self.head = head
        host = Substring(Self.normalizedHost(head))
        path = Substring(head.pathRange.isEmpty ? "/" : head.path)
        method = Substring(head.method)
    }

    /// The authority (absolute-form target, else Host), lowercased, without port or a
    /// trailing dot.
    static func normalizedHost(_ head: HTTP1Head) -> String {
        guard let range = head.effectiveAuthorityRange else { return "" }
        // The common case, a lowercase name without port: one string, made straight from the
        // bytes.
        let plain = head.bytes.withUnsafeReadableBytes { bytes in
            range.allSatisfy { index in
                let byte = bytes[index]
                return (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-")
                    || (byte == UInt8(ascii: ".") && index != range.upperBound - 1)
            }
        }
        if plain { return head.string(range) }
        var host = head.string(range)
        if host.hasPrefix("[") {
            if let close = host.firstIndex(of: "]") { host = String(host[...close]) }
        } else if let colon = host.lastIndex(of: ":") {
            host = String(host[..<colon])
        }
        if host.hasSuffix(".") { host.removeLast() }
        return host.lowercased()
    }

    public func headerValues(_ lowercasedName: String) -> [Substring] {
        var values: [Substring] = []
        for field in head.fields where head.bytesEqual(field.name, lowercaseASCII: lowercasedName) {
            values.append(Substring(head.string(field.value)))
        }
        return values
    }

    public func queryValue(_ name: String) -> Substring? {
        head.query.flatMap { QueryString.value(of: name, in: Substring($0)) }
    }
}
