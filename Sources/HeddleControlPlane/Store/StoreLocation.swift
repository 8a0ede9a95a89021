/// Where `heddle control-plane --store` keeps the state: `sqlite` (the default: `heddle.db` in
/// the data directory) or an etcd cluster, `etcd://HOST:PORT[,HOST:PORT...][/PREFIX][?max-request-bytes=N]`.
public enum StoreLocation: Hashable, Sendable {
    case sqlite
    /// `endpoints` as URLs (`http://10.0.0.1:2379`), the key prefix (ends with `/`), and the
    /// cluster's `--max-request-bytes`.
    case etcd(endpoints: [String], prefix: String, maxRequestBytes: Int)

    public static let defaultEtcdPrefix = "/heddle/"
    public static let defaultEtcdMaxRequestBytes = 1_572_864

    /// Parses `text`, or says what is wrong with it.
    public init(parsing text: String) throws(StoreLocationError) {
        if text == "sqlite" {
            self = .sqlite
            return
        }
        guard text.hasPrefix("etcd://") else {
            throw StoreLocationError("--store must be 'sqlite' or 'etcd://host:port[,host:port...][/prefix]', not '\(text)'")
        }
        var rest = Substring(text.dropFirst("etcd://".count))
        var maxRequestBytes = Self.defaultEtcdMaxRequestBytes
        if let question = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: question)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, parts[0] == "max-request-bytes", let bytes = Int(parts[1]), bytes >= 65_536 else {
                    throw StoreLocationError("in --store, '\(pair)' is not a known option: the one there is max-request-bytes=N (at least 65536)")
                }
                maxRequestBytes = bytes
            }
            rest = rest[..<question]
        }
        var prefix = Self.defaultEtcdPrefix
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[slash...]
            if path != "/" {
                prefix = path.hasSuffix("/") ? String(path) : String(path) + "/"
            }
            rest = rest[..<slash]
        }
        let members = rest.split(separator: ",", omittingEmptySubsequences: false)
        guard !members.isEmpty, !rest.isEmpty else {
            throw StoreLocationError("--store etcd:// needs at least one member, as etcd://127.0.0.1:2379")
        }
        var endpoints: [String] = []
        for member in members {
            guard let colon = member.lastIndex(of: ":"), let port = Int(member[member.index(after: colon)...]), (1...65535).contains(port),
                  !member[..<colon].isEmpty
            else {
                throw StoreLocationError("in --store, etcd member '\(member)' is not host:port")
            }
            endpoints.append("http://\(member)")
        }
        self = .etcd(endpoints: endpoints, prefix: prefix, maxRequestBytes: maxRequestBytes)
    }
}

public struct StoreLocationError: Error, Hashable, Sendable, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
