import ArgumentParser
import Foundation
import HeddleSidecar

/// `heddle tap SERVICE`: live request events of a service, from its proxies.
struct TapCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tap",
        abstract: "Stream live requests to and from a service: method, path, status, latency, caller and callee identity, error reason.",
        discussion: """
            The control plane relays what the service's own proxies see: requests to the service \
            (in) and the requests it makes (out). Each proxy sends at most --rate events a second \
            and counts the rest as skipped, so a tap never slows traffic. Runs until Ctrl-C, \
            --max events or --duration seconds.
            """)

    @Argument(help: "The service to tap.")
    var service: String
    @Option(help: "Only requests whose path starts with this.")
    var path: String?
    @Option(help: "Only this method (GET, POST, ...).")
    var method: String?
    @Option(help: "Only this status (503) or class (5xx).")
    var status: String?
    @Option(help: "Events a second, at most, from each proxy (1 to 1000).")
    var rate = 100
    @Option(help: "Stop after this many events.")
    var max: Int?
    @Option(help: "Stop after this many seconds.")
    var duration: Int?
    @Option(name: .shortAndLong, help: "table (a line per request) or json (the events as JSON lines).")
    var output: OutputFormat = .table
    @OptionGroup var location: ControlPlaneLocation

    func validate() throws {
        guard (1...1000).contains(rate) else { throw ValidationError("--rate must be between 1 and 1000 events a second") }
        if let max, max < 1 { throw ValidationError("--max must be at least 1") }
        if let duration, !(1...86_400).contains(duration) { throw ValidationError("--duration must be between 1 and 86400 seconds") }
        guard output != .yaml else { throw ValidationError("--output must be table or json") }
    }

    func run() async throws {
        var filter = ["rate": String(rate)]
        filter["path"] = path
        filter["method"] = method
        filter["status"] = status
        filter["max"] = max.map(String.init)
        filter["duration"] = duration.map(String.init)
        let events = try await cliRequest { try await location.client.tap(service: service, filter: filter) }
        do {
            for try await line in events {
                if output == .json {
                    print(line)
                } else if let event = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] {
                    print(Self.describe(event))
                }
                fflush(nil)
            }
        } catch {
            var standardError = FileHandle.standardError
            print("heddle: the tap ended: \(error)", to: &standardError)
            throw ExitCode(1)
        }
    }

    /// One event as a line: time, instance, in/out, request, status, latency, who called whom.
    static func describe(_ event: [String: Any]) -> String {
        if let skipped = event["skipped"] as? Int {
            return "… \(skipped) requests skipped by \(event["instance"] as? String ?? "a proxy") (over --rate)"
        }
        func text(_ key: String) -> String? { event[key] as? String }
        let time = (event["time"] as? Double).map { seconds -> String in
            let formatter = DateFormatter()
            formatter.dateFormat = "HH:mm:ss.SSS"
            return formatter.string(from: Date(timeIntervalSince1970: seconds))
        } ?? "-"
        let inbound = text("direction") == "inbound"
        var line = "\(time) \(text("instance") ?? "-") \(inbound ? "in " : "out") \(text("method") ?? "-") \(text("authority") ?? "")\(text("path") ?? "")"
        line += " \(event["status"] as? Int ?? 0) \(String(format: "%.1f ms", event["latency_ms"] as? Double ?? 0))"
        if inbound {
            line += " from \(text("source") ?? "a caller without mesh identity")"
        } else {
            line += " to \(text("backend") ?? "-")\(text("endpoint").map { " (\($0))" } ?? "")"
        }
        if let retries = event["retries"] as? Int { line += " retries=\(retries)" }
        if let reason = text("heddle_error") { line += " heddle-error=\(reason)" }
        if let trace = text("trace_id") { line += " trace=\(trace)" }
        return line
    }
}
