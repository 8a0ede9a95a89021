import Foundation
import HeddleAPI
import HeddleCore

/// The mesh-wide part of `heddle check`, from what the control plane says: its certificate
/// authority, the instances and how callers reach them, and the authorization policies per
/// service.
enum MeshCheck {
    /// The CA is flagged when it expires within this many days.
    static let caExpiryWarningDays = 30.0

    static func authority(_ status: CAStatus, now: Double) -> [CheckFinding] {
        var findings: [CheckFinding] = []
        let signerLeft = Double(status.signer.notAfter) - now
        let signer = "signing CA \(status.signer.subject) (\(timeLeft(until: status.signer.notAfter, from: now)))"
        if signerLeft <= 0 {
            findings.append(.problem("\(signer): it has expired; no certificate can be issued or renewed"))
        } else if signerLeft < caExpiryWarningDays * 86_400 {
            findings.append(.warning("\(signer): rotate the root soon (heddle ca rotate prepare)"))
        } else {
            findings.append(.ok(signer))
        }
        let roots = status.trustBundle.map { "\($0.subject) (\(timeLeft(until: $0.notAfter, from: now)))" }
        findings.append(.ok("trust bundle: \(roots.count) root\(roots.count == 1 ? "" : "s"): \(roots.joined(separator: "; "))"))
        for root in status.trustBundle where Double(root.notAfter) <= now {
            findings.append(.problem("trust bundle root \(root.subject) has expired"))
        }
        switch status.rotation {
        case "prepared":
            findings.append(.warning("root rotation prepared: run `heddle ca rotate activate` once every proxy has fetched the new bundle"))
        case "activated":
            findings.append(.warning("root rotation activated: run `heddle ca rotate finish` once every proxy has renewed"))
        default:
            findings.append(.ok("no root rotation under way"))
        }
        return findings
    }

    static func instances(_ instances: [Instance]) -> [CheckFinding] {
        guard !instances.isEmpty else { return [.ok("no instance registered")] }
        var findings: [CheckFinding] = []
        let plaintext = instances.filter { !$0.mutualTLS }
        let healthy = instances.filter { $0.health == .healthy }.count
        if plaintext.isEmpty {
            findings.append(.ok("\(instances.count) instance\(instances.count == 1 ? "" : "s") (\(healthy) healthy), all reached over mutual TLS"))
        } else {
            findings.append(.ok("\(instances.count) instance\(instances.count == 1 ? "" : "s") (\(healthy) healthy)"))
            for instance in plaintext.sorted(by: { $0.id < $1.id }) {
                findings.append(.warning("\(instance.id) (\(instance.service) at \(instance.address):\(instance.port)) is reached in plaintext: its sidecar runs --inbound-tls disabled"))
            }
        }
        return findings
    }

    /// Per target service: its policies and what happens to a request none of them names.
    static func authorization(_ envelopes: [ResourceEnvelope], services: Set<String>) -> [CheckFinding] {
        var byService: [String: [(name: String, spec: AuthorizationPolicySpec)]] = [:]
        var findings: [CheckFinding] = []
        for envelope in envelopes {
            guard envelope.status.state == .accepted else {
                findings.append(.problem("AuthorizationPolicy/\(envelope.name) is refused: \(envelope.status.errors.map { $0.path.isEmpty ? $0.reason : "\($0.path): \($0.reason)" }.joined(separator: "; "))"))
                continue
            }
            guard let spec = DescribeCommand.policySpec(envelope) else { continue }
            byService[spec.targetService, default: []].append((envelope.name, spec))
        }
        for (service, policies) in byService.sorted(by: { $0.key < $1.key }) {
            let allows = policies.filter { $0.spec.action == .allow }
            let denies = policies.filter { $0.spec.action == .deny }
            var text = "\(service): "
            text += allows.isEmpty ? "default allow" : "default deny (only what \(allows.map(\.name).sorted().joined(separator: ", ")) allow\(allows.count == 1 ? "s" : ""))"
            if !denies.isEmpty { text += "; denied first: \(denies.map(\.name).sorted().joined(separator: ", "))" }
            if allows.contains(where: { $0.spec.rules.isEmpty }) { text += "; an ALLOW policy without rules allows nothing" }
            findings.append(services.contains(service) ? .ok(text) : .warning(text + " — but no instance of \(service) is registered"))
        }
        let open = services.subtracting(byService.keys).sorted()
        if !open.isEmpty {
            findings.append(.ok("no policy, every caller allowed: \(open.joined(separator: ", "))"))
        }
        return findings
    }
}
