import ArgumentParser
import Foundation
import HeddleAPI
import HeddleCore
import HeddleSidecar
import Yams

/// Where the CLI finds the control plane: `--control-plane`, else `HEDDLE_CONTROL_PLANE`, else
/// the local default.
struct ControlPlaneLocation: ParsableArguments {
    @Option(help: "The control plane's URL (default: $HEDDLE_CONTROL_PLANE, else http://127.0.0.1:7470).")
    var controlPlane: String?

    @Option(help: "The admin token (the control plane's DATA-DIR/admin-token) for changes from another host (default: $HEDDLE_ADMIN_TOKEN).")
    var adminToken: String?

    var client: ControlPlaneClient {
        ControlPlaneClient(
            baseURL: controlPlane ?? ProcessInfo.processInfo.environment["HEDDLE_CONTROL_PLANE"] ?? "http://127.0.0.1:7470",
            adminToken: adminToken ?? ProcessInfo.processInfo.environment["HEDDLE_ADMIN_TOKEN"])
    }
}

/// Output formats of the listing commands.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table
    case json
    case yaml
}

/// Prints `value` as JSON or YAML; false for `table`, which the command prints itself.
func printStructured(_ value: some Encodable, as format: OutputFormat) throws -> Bool {
    switch format {
    case .table:
        return false
    case .json:
        try printJSON(value)
    case .yaml:
        // Documents (multi-line strings) as literal blocks, readable as they were applied.
        let encoder = YAMLEncoder()
        encoder.options.newLineScalarStyle = .literal
        print(try encoder.encode(value), terminator: "")
    }
    return true
}

/// Runs a CLI request: the control plane's error goes to standard error with exit code 1.
func cliRequest<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch {
        var standardError = FileHandle.standardError
        print("heddle: \(error)", to: &standardError)
        throw ExitCode(1)
    }
}

func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Prints rows as aligned columns under `header`.
func printTable(_ header: [String], _ rows: [[String]]) {
    for line in TopView.table(header, rows) { print(line) }
}

/// `heddle apply -f FILE|DIR`: sends YAML resources to the control plane.
struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Apply Service and HTTPRoute resources (YAML) to the control plane.",
        discussion: "Exit code 0 when every document was applied (or unchanged), 1 when any was refused or the control plane could not be reached.")

    @Option(name: .shortAndLong, help: "A YAML file, a directory of .yaml/.yml files (applied in name order), or - for standard input.")
    var file: String

    @Flag(help: "Validate and show what would change, storing nothing.")
    var dryRun = false

    @OptionGroup var location: ControlPlaneLocation

    func run() async throws {
        let yaml = try Self.read(file)
        let result = try await cliRequest { try await location.client.apply(yaml: yaml, dryRun: dryRun) }
        var refused = false
        for item in result.items {
            let verb = dryRun && item.action != .refused && item.action != .unchanged ? "would be \(item.action.rawValue)" : item.action.rawValue
            print("\(item.kind)/\(item.name) \(verb)")
            if dryRun, item.action == .updated, let previous = item.previous, let proposed = item.proposed {
                for line in TextDiff.unified(from: previous, to: proposed) { print("    " + line) }
            }
            for error in item.errors {
                refused = true
                print("  \(error.path): \(error.reason)\(error.line.map { " (line \($0))" } ?? "")")
            }
            if let status = item.status {
                for error in status.errors { print("  refused by the mesh: \(error.path): \(error.reason)") }
                for warning in status.warnings { print("  warning: \(warning.path): \(warning.reason)") }
            }
            if item.action == .refused { refused = true }
        }
        if refused { throw ExitCode(1) }
    }

    static func read(_ path: String) throws -> String {
        if path == "-" {
            let input = FileHandle.standardInput.readDataToEndOfFile()
            guard let text = String(data: input, encoding: .utf8) else { throw ValidationError("standard input: cannot read it as UTF-8 text") }
            return text
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ValidationError("\(path): no such file or directory")
        }
        let files = isDirectory.boolValue
            ? try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map { "\(path)/\($0)" }
            : [path]
        return try files.map { file in
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw ValidationError("\(file): cannot read it as UTF-8 text") }
            return text
        }.joined(separator: "\n---\n")
    }
}

/// `heddle get KIND [NAME]`.
struct GetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "Show resources: their revision, status and (with a name) the document.")

    @Argument(help: "Service or HTTPRoute.")
    var kind: String

    @Argument(help: "A resource name (default: all of the kind).")
    var name: String?

    @Option(name: .shortAndLong, help: "table, json or yaml.")
    var output: OutputFormat = .table

    @OptionGroup var location: ControlPlaneLocation

    func run() async throws {
        let client = location.client
        if let name {
            let resource = try await cliRequest { try await client.resource(kind: kind, name: name) }
            if try printStructured(resource, as: output) { return }
            print("# \(resource.kind)/\(resource.name) revision \(resource.revision), \(resource.status.state.rawValue)")
            for error in resource.status.errors { print("#   \(error.path): \(error.reason)") }
            for warning in resource.status.warnings { print("#   warning: \(warning.path): \(warning.reason)") }
            print(resource.document)
            return
        }
        let list = try await cliRequest { try await client.resources(kind: kind) }
        if try printStructured(list, as: output) { return }
        printTable(["KIND", "NAME", "REVISION", "STATUS", "PROXIES"], list.items.map {
            [$0.kind, $0.name, String($0.revision), $0.status.state.rawValue, $0.rollout.map { "\($0.running.count)/\($0.total)" } ?? "-"]
        })
    }
}

/// `heddle delete KIND NAME`.
struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a resource.")

    @Argument var kind: String
    @Argument var name: String
    @OptionGroup var location: ControlPlaneLocation

    func run() async throws {
        let result = try await cliRequest { try await location.client.delete(kind: kind, name: name) }
        print("\(result.kind)/\(result.name) deleted (revision \(result.revision))")
    }
}

/// `heddle services`.
struct ServicesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "services", abstract: "List services with their healthy and registered instances.")

    @Option(name: .shortAndLong, help: "table, json or yaml.")
    var output: OutputFormat = .table
    @OptionGroup var location: ControlPlaneLocation

    func run() async throws {
        let list = try await cliRequest { try await location.client.services() }
        if try printStructured(list, as: output) { return }
        printTable(["SERVICE", "HEALTHY", "INSTANCES", "DECLARED"], list.items.map { [$0.name, String($0.healthyInstances), String($0.totalInstances), $0.declared ? "yes" : "no"] })
    }
}

/// `heddle endpoints [SERVICE]`.
struct EndpointsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "endpoints", abstract: "List registered instances.")

    @Argument(help: "Only this service's instances.")
    var service: String?
    @Option(name: .shortAndLong, help: "table, json or yaml.")
    var output: OutputFormat = .table
    @OptionGroup var location: ControlPlaneLocation

    func run() async throws {
        let list = try await cliRequest { try await location.client.instances(service: service) }
        if try printStructured(list, as: output) { return }
        printTable(["SERVICE", "INSTANCE", "ADDRESS", "PROTOCOL", "WEIGHT", "HEALTH"], list.items.map {
            [$0.service, $0.id, "\($0.address):\($0.port)", $0.protocol, String($0.weight), $0.health.rawValue]
        })
    }
}
