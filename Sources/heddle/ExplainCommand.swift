import ArgumentParser
import Foundation
import HeddleAPI
import HeddleSidecar

/// `heddle explain ID`: why a request failed.
struct ExplainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Explain why a request failed (by its id), or what would happen to a request (--from --host --path).",
        discussion: """
            ID is a failed request's id: the heddle-request-id header of an error the proxy made, \
            the access log's request_id, a tap event's request_id, or its trace id when the proxies \
            trace. Every proxy remembers its last 256 failures per worker thread; the control plane \
            asks them all. Without an ID, --from SERVICE --host HOST [--path P] [-X METHOD] [-H 'name: value'] \
            asks a proxy of SERVICE which route would take the request, its policies, and each backend's \
            endpoints with their state (ejected, unhealthy), breaker and retry budget.
            """)

    @Argument(help: "The failed request's id.")
    var id: String?
    @Option(help: "The calling service (its proxy is asked).")
    var from: String?
    @Option(help: "The request's host (a service name, or a route's hostname).")
    var host: String?
    @Option(help: "The request's path (and query).")
    var path = "/"
    @Option(name: [.customShort("X"), .long], help: "The request's method.")
    var method = "GET"
    @Option(name: [.customShort("H"), .customLong("header")], help: "A request header, 'name: value' (repeatable).")
    var headers: [String] = []

    func validate() throws {
        switch (id, from, host) {
        case (.some, nil, nil): break
        case (nil, .some, .some): break
        case (.some, _, _): throw ValidationError("give a failed request's ID, or --from and --host to describe a request, not both")
        default: throw ValidationError("give a failed request's ID, or --from SERVICE and --host HOST to describe a request")
        }
        if let header = headers.first(where: { !$0.contains(":") }) { throw ValidationError("--header must be 'name: value', not '\(header)'") }
    }
    @Option(name: .shortAndLong, help: "table (text) or json.")
    var output: OutputFormat = .table
    @OptionGroup var location: ControlPlaneLocation

    func run() async throws {
        guard let id else {
            let preview = try await cliRequest {
                try await location.client.preview(from: from!, host: host!, path: path, method: method, headers: headers)
            }
            if try printStructured(preview, as: output) { return }
            Self.printPreview(preview, from: from!)
            return
        }
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

    static func printPreview(_ preview: RoutePreview, from: String) {
        print("\(preview.method) \(preview.host)\(preview.path) from \(from) (asked \(preview.instance ?? "its proxy")'s proxy, \(preview.listener) listener):")
        if let failure = preview.failure {
            print("  would fail: \(failure)")
        }
        if let route = preview.route {
            var policies = ["timeout \(preview.requestTimeoutMilliseconds.map { String(format: "%.0f ms", $0) } ?? "-")"]
            if let perTry = preview.perTryTimeoutMilliseconds { policies.append(String(format: "per try %.0f ms", perTry)) }
            if let attempts = preview.maxAttempts { policies.append("\(attempts) attempt\(attempts == 1 ? "" : "s")" + (attempts > 1 ? " (retry on \((preview.retryOnStatuses ?? []).map(String.init).joined(separator: ", ")))" : "")) }
            if preview.fault { policies.append("fault injection") }
            if !preview.mirrors.isEmpty { policies.append("mirrored to \(preview.mirrors.joined(separator: ", "))") }
            print("  route \(route): \(policies.joined(separator: ", "))")
        }
        for backend in preview.backends {
            let registered = backend.instances.map { " · \(backend.healthyInstances ?? 0) healthy of \($0) registered" } ?? ""
            print("  → \(backend.service) (weight \(backend.weight), \(backend.protocol)) · in flight \(backend.requestsInFlight)/\(backend.requestLimit) · retry budget \(backend.retryBudgetAvailable)\(registered)\(backend.failover.map { " · failover \($0)" } ?? "")")
            if let problem = backend.problem { print("      problem: \(problem)") }
            for endpoint in backend.endpoints {
                let ejected = endpoint.ejectedForSeconds.map { String(format: " for %.0f s", $0) } ?? ""
                print("      \(endpoint.address)  \(endpoint.state)\(ejected)  weight \(endpoint.weight)\(endpoint.identity.map { "  \($0)" } ?? "")")
            }
        }
    }
}
