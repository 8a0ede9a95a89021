import ArgumentParser

/// `heddle`: one binary for every part of the mesh.
@main
struct Heddle: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heddle",
        abstract: "Heddle, a service mesh: proxy, demo and tools.",
        subcommands: [ProxyCommand.self, ControlPlaneCommand.self, ApplyCommand.self, GetCommand.self, DescribeCommand.self, DeleteCommand.self, RunCommand.self, TokenCommand.self, CACommand.self, CheckCommand.self, ServicesCommand.self, EndpointsCommand.self, TopCommand.self, TapCommand.self, ExplainCommand.self, StoreCommand.self, DemoCommand.self]
    )
}
