/// Reads the Prometheus text exposition format (version 0.0.4), as a proxy's `/metrics`
/// serves it. Comment and blank lines are skipped; a line that does not parse is skipped too
/// (and counted), so one odd series never hides the rest.
public enum PrometheusText {
    public struct Parsed: Sendable {
        public var samples: [MetricSample]
        /// Lines that were neither comments nor samples.
        public var skippedLines: Int
    }

    public static func parse(_ text: String) -> Parsed {
        var samples: [MetricSample] = []
        var skipped = 0
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty || trimmed.first == "#" { continue }
            if let sample = sample(Substring(trimmed)) {
                samples.append(sample)
            } else {
                skipped += 1
            }
        }
        return Parsed(samples: samples, skippedLines: skipped)
    }

    /// `name{labels} value [timestamp]`, or nil.
    static func sample(_ line: Substring) -> MetricSample? {
        guard let nameEnd = line.firstIndex(where: { $0 == "{" || $0 == " " || $0 == "\t" }) else { return nil }
        let name = String(line[..<nameEnd])
        guard !name.isEmpty else { return nil }
        var rest = line[nameEnd...]
        var labels: [String: String] = [:]
        if rest.first == "{" {
            guard let (parsed, after) = self.labels(rest.dropFirst()) else { return nil }
            labels = parsed
            rest = after
        }
        let fields = rest.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard let first = fields.first, let value = number(first) else { return nil }
        return MetricSample(name: name, labels: labels, value: value)
    }

    /// The labels up to the closing brace, and what follows it.
    private static func labels(_ text: Substring) -> ([String: String], Substring)? {
        var labels: [String: String] = [:]
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character == "}" { return (labels, text[text.index(after: index)...]) }
            if character == "," || character == " " {
                index = text.index(after: index)
                continue
            }
            guard let equals = text[index...].firstIndex(of: "=") else { return nil }
            let key = String(text[index..<equals])
            var cursor = text.index(after: equals)
            guard cursor < text.endIndex, text[cursor] == "\"" else { return nil }
            cursor = text.index(after: cursor)
            var value = ""
            var closed = false
            while cursor < text.endIndex {
                let next = text[cursor]
                if next == "\\" {
                    cursor = text.index(after: cursor)
                    guard cursor < text.endIndex else { return nil }
                    switch text[cursor] {
                    case "n": value.append("\n")
                    case let escaped: value.append(escaped)
                    }
                } else if next == "\"" {
                    closed = true
                    cursor = text.index(after: cursor)
                    break
                } else {
                    value.append(next)
                }
                cursor = text.index(after: cursor)
            }
            guard closed, !key.isEmpty else { return nil }
            labels[key] = value
            index = cursor
        }
        return nil
    }

    private static func number(_ text: Substring) -> Double? {
        switch text {
        case "+Inf", "Inf": return .infinity
        case "-Inf": return -.infinity
        case "NaN": return .nan
        default: return Double(text)
        }
    }
}
