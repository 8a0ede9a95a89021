/// One document of a multi-document YAML stream: its text and where it starts in the stream.
struct YAMLDocument: Hashable, Sendable {
    /// The document, without its `---` marker and without leading or trailing blank lines; lines
    /// end with `\n` whatever they ended with in the stream.
    var text: String
    /// The stream's line (from 1) that is the document's first line.
    var firstLine: Int
}

/// Splits a YAML stream at its document markers, so that each document can be decoded, refused
/// and stored on its own. A marker is a line that starts with `---` followed by nothing, a space
/// or a tab (what follows it on the line opens the next document), or a line `...` (which ends
/// the document). YAML forbids such lines inside any scalar, so the split is exact for every
/// valid stream; a broken one is refused by the decoder, document by document. Documents with
/// nothing but blank lines and comments are dropped.
enum YAMLDocumentSplitter {
    static func split(_ yaml: String) -> [YAMLDocument] {
        var documents: [YAMLDocument] = []
        var lines: [Substring] = []
        var firstLine = 1
        func flush() {
            var start = firstLine
            var body = lines[...]
            while let first = body.first, isBlank(first) {
                body = body.dropFirst()
                start += 1
            }
            while let last = body.last, isBlank(last) {
                body = body.dropLast()
            }
            if body.contains(where: { !isComment($0) }) {
                documents.append(YAMLDocument(text: body.joined(separator: "\n"), firstLine: start))
            }
            lines = []
        }
        for (index, line) in yaml.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let number = index + 1
            if let rest = marker("---", in: line) {
                flush()
                firstLine = number
                let remainder = rest.drop { $0 == " " || $0 == "\t" }
                lines.append(remainder)
            } else if marker("...", in: line) != nil {
                flush()
                firstLine = number + 1
            } else {
                lines.append(line)
            }
        }
        flush()
        return documents
    }

    /// What follows `prefix` on `line`, when the line is that document marker.
    private static func marker(_ prefix: String, in line: Substring) -> Substring? {
        guard line.hasPrefix(prefix) else { return nil }
        let rest = line.dropFirst(prefix.count)
        guard let next = rest.first else { return rest }
        return next == " " || next == "\t" ? rest : nil
    }

    private static func isBlank(_ line: Substring) -> Bool {
        line.allSatisfy(\.isWhitespace)
    }

    private static func isComment(_ line: Substring) -> Bool {
        let content = line.drop(while: \.isWhitespace)
        return content.isEmpty || content.hasPrefix("#")
    }
}
