/// One line of `heddle check`: what was found, and whether it is fine, worth a look, or wrong.
struct CheckFinding: Equatable {
    enum Level: String {
        case ok = "ok"
        case warning = "warning"
        case problem = "PROBLEM"
    }

    let level: Level
    let text: String

    static func ok(_ text: String) -> CheckFinding { CheckFinding(level: .ok, text: text) }
    static func warning(_ text: String) -> CheckFinding { CheckFinding(level: .warning, text: text) }
    static func problem(_ text: String) -> CheckFinding { CheckFinding(level: .problem, text: text) }

    var line: String {
        switch level {
        case .ok: "  ✓ \(text)"
        case .warning: "  ! \(text)"
        case .problem: "  ✗ \(text)"
        }
    }
}

/// How long until `seconds` (since 1970) from `now`, in words: "3650 days", "5 h", "12 min".
func timeLeft(until seconds: Int64, from now: Double) -> String {
    let left = Double(seconds) - now
    if left < 0 { return "expired" }
    if left >= 2 * 86_400 { return "\(Int(left / 86_400)) days left" }
    if left >= 2 * 3600 { return "\(Int(left / 3600)) h left" }
    if left >= 120 { return "\(Int(left / 60)) min left" }
    return "\(Int(left)) s left"
}
