import Foundation
import HeddleIdentity
import HeddleProxy
import SwiftASN1
import X509

/// One proxy's part of `heddle check`, from its admin endpoint's `/identity`: its identity,
/// its certificate (checked against its own trust bundle with the mesh's rules), whether its
/// bundle is the control plane's, its inbound TLS mode and the policies that decide its inbound
/// requests.
enum ProxyCheck {
    static func findings(_ report: IdentityReport, controlPlaneBundle: String?, now: Date) async -> [CheckFinding] {
        var findings: [CheckFinding] = []
        guard let identity = report.identity, let chainPEM = report.certificateChain, let bundlePEM = report.trustBundle,
              let notBefore = report.notBefore, let notAfter = report.notAfter
        else {
            if let mode = report.inboundTLS, mode != "disabled" {
                findings.append(.problem("no workload certificate, and its inbound listener requires mutual TLS (\(mode)): it cannot take mesh traffic (give it a join token)"))
            } else {
                findings.append(.warning("no workload certificate: it cannot call mesh peers over mutual TLS"))
            }
            findings.append(contentsOf: inbound(report))
            return findings
        }
        findings.append(.ok("identity \(identity)"))
        let left = Double(notAfter) - now.timeIntervalSince1970
        let lifetime = Double(notAfter - notBefore)
        let expiry = "certificate valid until \(Date(timeIntervalSince1970: TimeInterval(notAfter))) (\(timeLeft(until: notAfter, from: now.timeIntervalSince1970)))"
        if left <= 0 {
            findings.append(.problem("\(expiry): it has expired, and renewing needs a valid certificate or a new join token"))
        } else if left < lifetime * 0.25 {
            findings.append(.warning("\(expiry): it should have been renewed at half-life; is the control plane reachable?"))
        } else {
            findings.append(.ok(expiry))
        }
        do {
            let chain = try PEMDocument.parseMultiple(pemString: chainPEM).map { try Certificate(pemDocument: $0) }
            let roots = try PEMDocument.parseMultiple(pemString: bundlePEM).map { try Certificate(pemDocument: $0) }
            let named = try SPIFFEID(parsing: identity)
            do {
                _ = try await PeerVerifier(trustDomain: named.trustDomain, trustBundle: roots).verify(chain: chain, now: now)
                findings.append(.ok("the certificate chains to its trust bundle (\(roots.count) root\(roots.count == 1 ? "" : "s")) and follows the mesh's rules"))
            } catch {
                findings.append(.problem("its own certificate fails the checks its peers make: \(error.message)"))
            }
        } catch {
            findings.append(.problem("its certificate or trust bundle cannot be read: \(error)"))
        }
        if let controlPlaneBundle {
            if normalized(controlPlaneBundle) == normalized(bundlePEM) {
                findings.append(.ok("its trust bundle is the control plane's"))
            } else {
                findings.append(.warning("its trust bundle differs from the control plane's (a root rotation it has not fetched yet?)"))
            }
        }
        findings.append(contentsOf: inbound(report))
        return findings
    }

    private static func inbound(_ report: IdentityReport) -> [CheckFinding] {
        var findings: [CheckFinding] = []
        switch report.inboundTLS {
        case "strict"?: findings.append(.ok("inbound listener: mutual TLS required (strict)"))
        case "permissive"?: findings.append(.warning("inbound listener: permissive, plaintext callers are let in (no identity)"))
        case "disabled"?: findings.append(.warning("inbound listener: plaintext only (--inbound-tls disabled)"))
        default: findings.append(.ok("no inbound listener"))
        }
        if let service = report.service {
            let allows = report.authorizationPolicies.filter { $0.action == "ALLOW" }.map(\.name)
            let denies = report.authorizationPolicies.filter { $0.action == "DENY" }.map(\.name)
            if report.authorizationPolicies.isEmpty {
                findings.append(.ok("authorization for \(service): no policy, every caller allowed"))
            } else {
                var text = "authorization for \(service): "
                text += allows.isEmpty ? "default allow" : "default deny, allowed by \(allows.joined(separator: ", "))"
                if !denies.isEmpty { text += "; denied first by \(denies.joined(separator: ", "))" }
                findings.append(.ok(text))
            }
        }
        return findings
    }

    private static func normalized(_ pem: String) -> [String] {
        ((try? PEMDocument.parseMultiple(pemString: pem)) ?? []).map(\.pemString)
    }
}
