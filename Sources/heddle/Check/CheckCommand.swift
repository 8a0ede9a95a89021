import ArgumentParser
import AsyncHTTPClient
import Foundation
import HeddleAPI
import HeddleProxy
import HeddleSidecar
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// `heddle check`: the mesh's identities and policies, from the control plane, and with
/// `--proxy` one or more proxies' own: certificate expiry, trust bundle, identity, which
/// policies apply. Exit 1 when any problem is found.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check identities, certificates, trust bundles and authorization: the mesh's, and with --proxy a proxy's own.",
        discussion: "Each finding is ✓ (fine), ! (worth a look) or ✗ (a problem). Exit status 1 when any problem is found.")

    @Option(name: .customLong("proxy"), help: "A proxy's admin address (host:port) to check too (repeatable).")
    var proxies: [String] = []

    @OptionGroup var location: ControlPlaneLocation

    func run() async throws {
        let now = Date()
        let client = location.client
        var sections: [(String, [CheckFinding])] = []
        var controlPlaneBundle: String?
        do {
            let status = try await client.caStatus()
            let instances = try await client.instances(service: nil).items
            let policies = try await client.resources(kind: "AuthorizationPolicy").items
            controlPlaneBundle = try? await client.trustBundle().pem
            sections.append(("Certificate authority (trust domain \(status.trustDomain))", MeshCheck.authority(status, now: now.timeIntervalSince1970)))
            sections.append(("Instances", MeshCheck.instances(instances)))
            sections.append(("Authorization", MeshCheck.authorization(policies, services: Set(instances.map(\.service)))))
        } catch {
            sections.append(("Control plane", [.problem("\(error)")]))
        }
        for address in proxies {
            do {
                let report = try await Self.identity(of: address)
                let title = "Proxy \(address)" + (report.service.map { " (service \($0))" } ?? "")
                sections.append((title, await ProxyCheck.findings(report, controlPlaneBundle: controlPlaneBundle, now: now)))
            } catch {
                sections.append(("Proxy \(address)", [.problem("its admin endpoint cannot be read: \(error)")]))
            }
        }
        for (title, findings) in sections {
            print(title)
            for finding in findings { print(finding.line) }
        }
        let problems = sections.flatMap(\.1).filter { $0.level == .problem }.count
        let warnings = sections.flatMap(\.1).filter { $0.level == .warning }.count
        print("\n\(problems) problem\(problems == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")")
        if problems > 0 { throw ExitCode(1) }
    }

    static func identity(of address: String) async throws -> IdentityReport {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://\(address)/identity"), timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 1024 * 1024)
        guard response.status.code == 200 else { throw CheckError("\(address)/identity answered \(response.status.code)") }
        return try JSONDecoder().decode(IdentityReport.self, from: Data(buffer: body))
    }
}

struct CheckError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
