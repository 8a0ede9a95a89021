import ArgumentParser
import Foundation
import HeddleAPI
import HeddleSidecar

/// `heddle explain ID`: why a request failed.
struct ExplainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Explain why a request failed: where, which proxy refused it or which app answered an error, and what to look at.",
        discussion: """
            ID is a failed request's id: the heddle-request-id header of an error the proxy made, \
            the access log's request_id, a tap event's request_id, or its trace id when the proxies \
            trace. Every proxy remembers its last 256 failures per worker thread; the control plane \
            asks them all.
            """)

    @Argument(help: "The failed request's id.")
    var id: String
    @Option(name: .shortAndLong, help: "table (text) or json.")
    var output: OutputFormat = .table
    @OptionGroup var location: ControlPlaneLocation

    func run() async throws {
        let explanation = try await cliRequest { try await location.client.explain(id: id) }
        if try printStructured(explanation, as: output) { return }
        print(explanation.verdict)
        if !explanation.advice.isEmpty {
            print("")
            for line in explanation.advice { print("- \(line)") }
        }
        print("")
        print("What each proxy saw:")
        printTable(["INSTANCE", "DIRECTION", "REQUEST", "STATUS", "ERROR", "ROUTE", "TO", "FROM", "TIME"], explanation.hops.map { hop in
            [
                hop.instance, hop.direction, "\(hop.method) \(hop.authority)\(hop.path)", String(hop.status), hop.heddleError ?? "-",
                hop.route ?? "-", hop.endpoint.map { "\(hop.backend ?? "-") (\($0))" } ?? hop.backend ?? "-", hop.source ?? "-",
                String(format: "%.1f ms", hop.latencyMilliseconds),
            ]
        })
    }
}
