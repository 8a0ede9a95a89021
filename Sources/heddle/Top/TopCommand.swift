import ArgumentParser
import Foundation
import HeddleAPI
import HeddleSidecar

#if canImport(Glibc)
import Glibc
#endif

/// `heddle top`: the mesh's live traffic per service or route, refreshed every second.
struct TopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "Live traffic per service or route: requests/s, success rate, p50/p99, in flight, retries, ejected endpoints.",
        discussion: """
            The control plane reads every registered proxy's metrics (the admin address its sidecar \
            registered) and reports rates over the last --window seconds. In a terminal the table \
            refreshes every second (keys: s changes the sort, v switches services/routes, q quits); \
            otherwise, or with -o json, one report is printed.
            """)

    @Option(help: "Rows: services or routes.")
    var by: String = "services"
    @Option(help: "Sort by: name, rps, success (lowest first), p50, p99, inflight, retries.")
    var sort: String = "rps"
    @Option(help: "Seconds of traffic the rates cover (1 to 60).")
    var window = 10
    @Option(name: .shortAndLong, help: "table or json.")
    var output: OutputFormat = .table
    @Flag(help: "Print one table and exit, even in a terminal.")
    var once = false
    @OptionGroup var location: ControlPlaneLocation

    func validate() throws {
        guard TopView.Rows(rawValue: by) != nil else { throw ValidationError("--by must be services or routes, not '\(by)'") }
        guard TopView.SortKey(rawValue: sort) != nil else {
            throw ValidationError("--sort must be one of \(TopView.SortKey.allCases.map(\.rawValue).joined(separator: ", ")), not '\(sort)'")
        }
        guard (1...60).contains(window) else { throw ValidationError("--window must be between 1 and 60 seconds") }
        guard output != .yaml else { throw ValidationError("--output must be table or json") }
    }

    func run() async throws {
        let client = location.client
        var view = TopView(rows: TopView.Rows(rawValue: by)!, sort: TopView.SortKey(rawValue: sort)!)
        if output == .json {
            try printJSON(try await cliRequest { try await client.top(window: window) })
            return
        }
        guard !once, isatty(STDOUT_FILENO) == 1 else {
            for line in view.lines(try await cliRequest { try await client.top(window: window) }) { print(line) }
            return
        }
        let keys = TerminalKeys()
        defer { keys.restore() }
        while true {
            let frame: String
            do {
                frame = view.frame(try await client.top(window: window), controlPlane: client.baseURL)
            } catch {
                frame = "heddle top — \(client.baseURL)\n\ncannot read the mesh's traffic: \(error)\n\nretrying every second · q quits"
            }
            // Home, clear, draw: one write, so the table does not flicker.
            FileHandle.standardOutput.write(Data(("\u{1B}[H\u{1B}[2J" + frame.replacingOccurrences(of: "\n", with: "\r\n") + "\r\n").utf8))
            // Until the next refresh: a key that changes the view redraws at once.
            let deadline = ContinuousClock.now + .seconds(1)
            waiting: while ContinuousClock.now < deadline {
                switch keys.next() {
                case "q", "\u{03}":
                    return
                case "s":
                    let all = TopView.SortKey.allCases
                    view.sort = all[(all.firstIndex(of: view.sort)! + 1) % all.count]
                    break waiting
                case "v":
                    view.rows = view.rows == .services ? .routes : .services
                    break waiting
                default:
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
        }
    }
}

/// The terminal in character mode without echo while `heddle top` runs (keys arrive as they
/// are typed); restored on exit, and on Ctrl-C.
final class TerminalKeys: @unchecked Sendable {
    nonisolated(unsafe) private static var saved = termios()
    private let active: Bool

    init() {
        guard isatty(STDIN_FILENO) == 1, tcgetattr(STDIN_FILENO, &Self.saved) == 0 else {
            active = false
            return
        }
        var raw = Self.saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 0
            cc[Int(VTIME)] = 0
        }
        tcsetattr(STDIN_FILENO, TCSANOW, &raw)
        active = true
        signal(SIGINT) { _ in
            tcsetattr(STDIN_FILENO, TCSANOW, &TerminalKeys.saved)
            _exit(130)
        }
        FileHandle.standardOutput.write(Data("\u{1B}[?25l".utf8))  // hide the cursor
    }

    /// The next key typed, or nil.
    func next() -> Character? {
        guard active else { return nil }
        var byte: UInt8 = 0
        guard read(STDIN_FILENO, &byte, 1) == 1 else { return nil }
        return Character(UnicodeScalar(byte))
    }

    func restore() {
        guard active else { return }
        tcsetattr(STDIN_FILENO, TCSANOW, &Self.saved)
        FileHandle.standardOutput.write(Data("\u{1B}[?25h".utf8))
    }
}
