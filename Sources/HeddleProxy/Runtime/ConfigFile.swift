import Foundation
import HeddleCore

/// Reads the proxy's configuration file.
public enum ConfigFile {
    /// A file that cannot be read at all.
    public struct ReadError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// Reads and validates the file; throws `ReadError` or `ConfigErrors`.
    public static func load(_ path: String) throws -> MeshConfig {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ReadError(path: path, reason: "cannot read: \((error as NSError).localizedDescription)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ReadError(path: path, reason: "not UTF-8 text")
        }
        return try MeshConfig.load(yaml: text)
    }

    /// Modification time, size and inode, to notice a changed (or replaced) file without
    /// reading it. (Through `FileManager`: a `struct stat`'s owning module differs between
    /// clean and incremental builds once Foundation is in the graph.)
    static func fingerprint(_ path: String) -> [Int] {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return [] }
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        return [
            Int(modified.rounded(.down)), Int((modified - modified.rounded(.down)) * 1_000_000_000),
            (attributes[.size] as? NSNumber)?.intValue ?? 0, (attributes[.systemFileNumber] as? NSNumber)?.intValue ?? 0,
        ]
    }
}
