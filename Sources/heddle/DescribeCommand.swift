import ArgumentParser
import HeddleAPI
import HeddleCore
import HeddleSidecar

/// `heddle describe KIND NAME`: one resource for a person — its status, where it runs, what it
/// connects (a service's instances and the routes that send to it; a route's backends and
/// their instances), and its document.
struct DescribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Describe a resource: status, the proxies running it, its instances or backends, and its document.")

    @Argument(help: "Service or HTTPRoute.")
    var kind: String

    @Argument(help: "The resource's name.")
    var name: String

    @OptionGroup var location: ControlPlaneLocation

    func run() async throws {
        let client = location.client
        let resource = try await cliRequest { try await client.resource(kind: kind, name: name) }
        var lines = [
            "Name:       \(resource.name)",
            "Kind:       \(resource.kind)",
            "Revision:   \(resource.revision) (created at \(resource.createdRevision))",
            "Status:     \(resource.status.state.rawValue)",
        ]
        for error in resource.status.errors {
            lines.append("            \(error.path): \(error.reason)")
        }
        for warning in resource.status.warnings {
            lines.append("            warning: \(warning.path): \(warning.reason)")
        }
        lines += Self.rolloutLines(resource.rollout)

        let instances = try await cliRequest { try await client.instances(service: nil) }.items
        let routes = try await cliRequest { try await client.resources(kind: "HTTPRoute") }.items
        let policies = try await cliRequest { try await client.resources(kind: "AuthorizationPolicy") }.items
        switch resource.kind {
        case "Service":
            let own = instances.filter { $0.service == resource.name }
            lines.append("Instances:  \(own.filter { $0.health == .healthy }.count) healthy of \(own.count) registered")
            for instance in own {
                let labels = instance.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
                lines.append("            \(instance.id)  \(instance.address):\(instance.port)  \(instance.health.rawValue)  weight \(instance.weight)\(labels.isEmpty ? "" : "  \(labels)")")
            }
            let senders = routes.filter { Self.backends(of: $0).contains { $0.name == resource.name || $0.failover == resource.name } }
            lines.append("Routes:     " + (senders.isEmpty ? "none (reachable by its name as the host)" : senders.map { "\($0.name) (\($0.status.state.rawValue))" }.joined(separator: ", ")))
            lines.append("Callers:    " + Self.authorizationSummary(of: resource.name, policies: policies))
        case "HTTPRoute":
            lines.append("Backends:")
            var seen: Set<String> = []
            for backend in Self.backends(of: resource) where seen.insert(backend.name).inserted {
                let own = instances.filter { $0.service == backend.name }
                let failover = backend.failover.map { ", failover \($0)" } ?? ""
                lines.append("            \(backend.name)  weight \(backend.weight)\(failover)  \(own.filter { $0.health == .healthy }.count) healthy of \(own.count) instances")
            }
        case "AuthorizationPolicy":
            if let spec = Self.policySpec(resource) {
                let own = instances.filter { $0.service == spec.targetService }
                lines.append("Target:     \(spec.targetService) (\(own.filter { $0.health == .healthy }.count) healthy of \(own.count) instances)")
                lines.append("Action:     \(spec.action.rawValue), \(spec.rules.count) rule\(spec.rules.count == 1 ? "" : "s")")
                for (index, rule) in spec.rules.enumerated() {
                    lines.append("            rule \(index): \(Self.describe(rule))")
                }
                lines.append("Callers:    " + Self.authorizationSummary(of: spec.targetService, policies: policies))
            }
        default:
            break
        }
        lines.append("Document:")
        lines += resource.document.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }
        print(lines.joined(separator: "\n"))
    }

    static func rolloutLines(_ rollout: ResourceRollout?) -> [String] {
        guard let rollout else { return ["Proxies:    none (not pushed to sidecars)"] }
        var lines = ["Proxies:    running on \(rollout.running.count) of \(rollout.total) watching proxies"]
        if !rollout.pending.isEmpty { lines.append("            pending: \(rollout.pending.joined(separator: ", "))") }
        if !rollout.rejected.isEmpty { lines.append("            rejected by: \(rollout.rejected.joined(separator: ", ")) (reasons: GET /v1/proxies)") }
        return lines
    }

    static func policySpec(_ envelope: ResourceEnvelope) -> AuthorizationPolicySpec? {
        guard envelope.kind == "AuthorizationPolicy", let resources = try? ResourceDecoder.decode(yaml: envelope.document),
              case .authorizationPolicy(_, let spec)? = resources.first
        else { return nil }
        return spec
    }

    /// Who may call `service`, as its accepted policies decide.
    static func authorizationSummary(of service: String, policies: [ResourceEnvelope]) -> String {
        let mine = policies.filter { $0.status.state == .accepted }.compactMap { envelope in
            policySpec(envelope).flatMap { $0.targetService == service ? (envelope.name, $0) : nil }
        }
        guard !mine.isEmpty else { return "anyone (no AuthorizationPolicy targets \(service))" }
        let allows = mine.filter { $0.1.action == .allow }.map(\.0).sorted()
        let denies = mine.filter { $0.1.action == .deny }.map(\.0).sorted()
        var text = allows.isEmpty ? "anyone no DENY policy matches" : "only what \(allows.joined(separator: ", ")) allow\(allows.count == 1 ? "s" : "") (default deny)"
        if !denies.isEmpty { text += "; denied first by \(denies.joined(separator: ", "))" }
        return text
    }

    /// One rule in words: `from services [web]; to GET /users/*`.
    static func describe(_ rule: AuthorizationRule) -> String {
        var from: [String] = []
        if let services = rule.services { from.append("services \(services.joined(separator: ", "))") }
        if let identities = rule.identities { from.append("identities \(identities.joined(separator: ", "))") }
        var to: [String] = []
        if let methods = rule.methods { to.append(methods.joined(separator: "|")) }
        if let paths = rule.paths { to.append(paths.joined(separator: " ")) }
        if let ports = rule.ports { to.append("port \(ports.map(String.init).joined(separator: ","))") }
        let parts = (from.isEmpty ? [] : ["from " + from.joined(separator: " or ")]) + (to.isEmpty ? [] : ["to " + to.joined(separator: " ")])
        return parts.isEmpty ? "every request" : parts.joined(separator: "; ")
    }

    /// The backends of every rule of a route's document (none when it does not decode).
    static func backends(of route: ResourceEnvelope) -> [BackendRef] {
        guard route.kind == "HTTPRoute", let resources = try? ResourceDecoder.decode(yaml: route.document) else { return [] }
        return resources.flatMap { resource -> [BackendRef] in
            guard case .httpRoute(_, let spec) = resource else { return [] }
            return spec.rules.flatMap(\.backendRefs)
        }
    }
}
