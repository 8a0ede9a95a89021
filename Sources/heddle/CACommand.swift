import ArgumentParser
import Foundation
import HeddleAPI
import HeddleSidecar

/// `heddle ca status` and `heddle ca rotate prepare|activate|finish`: the mesh's certificate
/// authority and its root rotation.
struct CACommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ca",
        abstract: "The mesh's certificate authority: what signs, what is trusted, and root rotation.",
        subcommands: [Status.self, Rotate.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "status", abstract: "Show the signing CA, the trust bundle and where a root rotation stands.")

        @OptionGroup var location: ControlPlaneLocation

        func run() async throws {
            print(CACommand.describe(try await cliRequest { try await location.client.caStatus() }))
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate",
            abstract: "Run the next phase of a root rotation: prepare, activate, finish.",
            discussion: """
                prepare: a new root joins the trust bundle (the old one still signs). Wait until \
                every proxy has fetched it (--trust-refresh-interval, 30 s by default). \
                activate: the new root signs; proxies renew under it within their refresh interval. \
                finish: the old root leaves the trust bundle.
                """)

        @Argument(help: "prepare, activate or finish.")
        var phase: String

        @OptionGroup var location: ControlPlaneLocation

        func validate() throws {
            guard ["prepare", "activate", "finish"].contains(phase) else {
                throw ValidationError("the phase must be prepare, activate or finish, not '\(phase)'")
            }
        }

        func run() async throws {
            print(CACommand.describe(try await cliRequest { try await location.client.rotateRoot(phase) }))
        }
    }

    static func describe(_ status: CAStatus) -> String {
        func line(_ summary: CACertificateSummary) -> String {
            "\(summary.subject) (key \(summary.keyID.prefix(16))…, expires \(Date(timeIntervalSince1970: TimeInterval(summary.notAfter))))"
        }
        var text = "trust domain: \(status.trustDomain)\nrotation: \(status.rotation)\nsigning CA: \(line(status.signer))\ntrust bundle:\n"
        text += status.trustBundle.map { "  \(line($0))" }.joined(separator: "\n")
        if let pending = status.pending { text += "\nnext root (activate signs with it): \(line(pending))" }
        return text
    }
}
