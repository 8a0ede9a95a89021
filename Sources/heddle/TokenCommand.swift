import ArgumentParser
import HeddleAPI
import HeddleSidecar

/// `heddle token create --service NAME`: a join token for a new proxy of the service.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Join tokens: what a new proxy shows the control plane to get its first certificate.",
        subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a join token for one service.")

        @Option(help: "The service the token lets a proxy join as.")
        var service: String

        @Option(help: "Seconds the token lasts (1 to 86400).")
        var ttl = 1800

        @OptionGroup var location: ControlPlaneLocation

        func run() async throws {
            let response = try await cliRequest { try await location.client.createToken(TokenRequest(service: service, ttlSeconds: ttl)) }
            print(response.token)
        }
    }
}
