import Foundation
import HeddleAPI

/// The last configuration push a sidecar accepted, kept on disk so that the next start serves
/// it even when the control plane cannot be reached. Written to a temporary file and renamed,
/// so a crash never leaves half a file.
enum SnapshotFile {
    static let header = "# heddle configuration version "

    /// The version and documents kept at `path`, if any.
    static func read(_ path: String) -> (version: Int64, yaml: String)? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), text.hasPrefix(header),
              let newline = text.firstIndex(of: "\n"),
              let version = Int64(text[text.index(text.startIndex, offsetBy: header.count)..<newline])
        else { return nil }
        return (version, String(text[text.index(after: newline)...]))
    }

    /// Keeps a whole configuration.
    static func write(_ push: ConfigPush, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let temporary = path + ".tmp"
        try (header + "\(push.version)\n" + push.yaml).write(toFile: temporary, atomically: false, encoding: .utf8)
        guard rename(temporary, path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
    }
}
