/// A line diff of two texts (a longest common subsequence of lines), for showing what an apply
/// would change.
public enum TextDiff {
    public enum Line: Hashable, Sendable {
        case same(String)
        case removed(String)
        case added(String)
    }

    /// The lines of `old` and `new`, each kept, removed or added, in order. Texts past 2 000
    /// lines each are compared as wholes (all removed, all added).
    public static func lines(from old: String, to new: String) -> [Line] {
        let a = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let b = new.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard a.count <= 2000, b.count <= 2000 else { return a.map(Line.removed) + b.map(Line.added) }
        // common[i][j]: the length of the longest common subsequence of a[i...] and b[j...].
        var common = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            for j in stride(from: b.count - 1, through: 0, by: -1) {
                common[i][j] = a[i] == b[j] ? common[i + 1][j + 1] + 1 : max(common[i + 1][j], common[i][j + 1])
            }
        }
        var result: [Line] = []
        var i = 0
        var j = 0
        while i < a.count || j < b.count {
            if i < a.count, j < b.count, a[i] == b[j] {
                result.append(.same(a[i]))
                i += 1
                j += 1
            } else if i < a.count, j == b.count || common[i + 1][j] >= common[i][j + 1] {
                // Removals before additions, as diff prints them.
                result.append(.removed(a[i]))
                i += 1
            } else {
                result.append(.added(b[j]))
                j += 1
            }
        }
        return result
    }

    /// The changed lines with `context` unchanged lines around each, as `- `, `+ ` and `  `
    /// lines; `...` where unchanged lines are left out.
    public static func unified(from old: String, to new: String, context: Int = 2) -> [String] {
        let lines = lines(from: old, to: new)
        let changed = lines.indices.filter { if case .same = lines[$0] { false } else { true } }
        var shown = Set<Int>()
        for index in changed {
            for near in max(0, index - context)...min(lines.count - 1, index + context) { shown.insert(near) }
        }
        var output: [String] = []
        var last = -1
        for index in shown.sorted() {
            if index > last + 1 { output.append("...") }
            switch lines[index] {
            case .same(let text): output.append("  " + text)
            case .removed(let text): output.append("- " + text)
            case .added(let text): output.append("+ " + text)
            }
            last = index
        }
        if last >= 0, last < lines.count - 1 { output.append("...") }
        return output
    }
}
