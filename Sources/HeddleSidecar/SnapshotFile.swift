import Foundation
import HeddleAPI

/// The last configuration push a sidecar accepted, kept on disk so that the next start serves
/// it even when the control plane cannot be reached, and resumes its watch from it. Each
/// document starts with a `# resource: Kind/name` comment, so the file reads back as the push
/// it was. Written to a temporary file and renamed, so a crash never leaves half a file.
enum SnapshotFile {
    static let header = "# heddle configuration version "
    static let callsComment = "# calls: "
    static let resourceComment = "# resource: "

    /// The version and documents kept at `path`, if any; `push` is the whole configuration
    /// when every document names its resource (files written before they did give nil);
    /// `calls`, the services the proxy's watch named (declared and learned), when it named some.
    static func read(_ path: String) -> Kept? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), text.hasPrefix(header),
              let newline = text.firstIndex(of: "\n"),
              let version = Int64(text[text.index(text.startIndex, offsetBy: header.count)..<newline])
        else { return nil }
        var yaml = text[text.index(after: newline)...]
        var calls: [String]?
        if yaml.hasPrefix(callsComment) {
            let end = yaml.firstIndex(of: "\n") ?? yaml.endIndex
            calls = yaml[yaml.index(yaml.startIndex, offsetBy: callsComment.count)..<end].split(separator: ",").map(String.init)
            yaml = end == yaml.endIndex ? "" : yaml[yaml.index(after: end)...]
        }
        return Kept(version: version, yaml: String(yaml), push: push(version: version, yaml: String(yaml)), calls: calls)
    }

    /// What `read` found in the file.
    struct Kept: Sendable {
        let version: Int64
        let yaml: String
        let push: ConfigPush?
        let calls: [String]?
    }

    /// Keeps a whole configuration, and the services the watch named (nil: the whole mesh).
    static func write(_ push: ConfigPush, calls: [String]? = nil, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let documents = push.resources.map { resource in
            resourceComment + resource.key + "\n" + (resource.document.hasSuffix("\n") ? resource.document : resource.document + "\n")
        }
        // Its own temporary file: two writers (a push and learned calls) never mix theirs.
        let temporary = path + ".tmp-\(UUID().uuidString.prefix(8))"
        let scope = calls.map { callsComment + $0.joined(separator: ",") + "\n" } ?? ""
        try (header + "\(push.version)\n" + scope + documents.joined(separator: "---\n")).write(toFile: temporary, atomically: false, encoding: .utf8)
        guard rename(temporary, path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
    }

    /// The documents split at their `---` lines, each keyed by its first-line comment.
    private static func push(version: Int64, yaml: String) -> ConfigPush? {
        guard !yaml.isEmpty else { return ConfigPush(version: version, resources: []) }
        var resources: [PushedResource] = []
        var lines: [Substring] = []
        func close() -> Bool {
            guard let first = lines.first, first.hasPrefix(resourceComment) else { return false }
            let key = String(first.dropFirst(resourceComment.count))
            resources.append(PushedResource(key: key, document: lines.dropFirst().map { $0 + "\n" }.joined()))
            lines = []
            return true
        }
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false).dropLast(yaml.hasSuffix("\n") ? 1 : 0) {
            if line == "---" {
                guard close() else { return nil }
            } else {
                lines.append(line)
            }
        }
        guard close() else { return nil }
        return ConfigPush(version: version, resources: resources)
    }
}
