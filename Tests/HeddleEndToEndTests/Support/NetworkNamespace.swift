import Foundation

/// A network namespace the test makes, joined to the host by a veth pair: the host's end is
/// `hostAddress`, the namespace's `innerAddress` (a /30 of 10.64.0.0/10 picked at random, so
/// that tests running at once do not clash). Processes started with `command` run inside.
/// `nft` rules given to `cut` drop traffic from inside to the host's ports — a partition.
final class NetworkNamespace: @unchecked Sendable {
    let name: String
    let hostAddress: String
    let innerAddress: String
    private let hostLink: String

    init() throws {
        let tag = UUID().uuidString.prefix(6).lowercased()
        name = "heddle-\(tag)"
        hostLink = "hd\(tag)a"
        let innerLink = "hd\(tag)b"
        let base = (64 + Int.random(in: 0..<64)) << 16 | Int.random(in: 0..<256) << 8 | Int.random(in: 0..<64) * 4
        let octets = { (value: Int) in "10.\((value >> 16) & 255).\((value >> 8) & 255).\(value & 255)" }
        hostAddress = octets(base + 1)
        innerAddress = octets(base + 2)
        for command in [
            ["netns", "add", name],
            ["link", "add", hostLink, "type", "veth", "peer", "name", innerLink],
            ["link", "set", innerLink, "netns", name],
            ["addr", "add", "\(hostAddress)/30", "dev", hostLink],
            ["link", "set", hostLink, "up"],
            ["netns", "exec", name, "ip", "addr", "add", "\(innerAddress)/30", "dev", innerLink],
            ["netns", "exec", name, "ip", "link", "set", innerLink, "up"],
            ["netns", "exec", name, "ip", "link", "set", "lo", "up"],
        ] {
            let result = try runToFiles(Self.ip, command, timeout: 10)
            guard result.status == 0 else {
                remove()
                throw TestFailure("ip \(command.joined(separator: " ")) failed (network namespaces need root): \(result.errors)")
            }
        }
    }

    deinit {
        remove()
    }

    static var ip: String { TestSupport.which("ip") ?? "/usr/sbin/ip" }

    /// The executable and arguments that run `executable` inside the namespace.
    func command(_ executable: String, _ arguments: [String]) -> (executable: String, arguments: [String]) {
        (Self.ip, ["netns", "exec", name, executable] + arguments)
    }

    /// Drops every packet from inside the namespace to the host's `ports` (TCP): the
    /// namespace's processes lose those peers, while the host still reaches them.
    func cut(ports: [Int]) throws {
        guard let nft = TestSupport.which("nft") else { throw TestFailure("nft is not installed: apt-get install nftables") }
        let rules = """
            table inet heddle_partition {
              chain output {
                type filter hook output priority 0; policy accept;
                ip daddr \(hostAddress) tcp dport { \(ports.map(String.init).joined(separator: ", ")) } drop
              }
            }
            """
        let result = try runToFiles(Self.ip, ["netns", "exec", name, nft, "-f", "-"], timeout: 10, input: rules)
        guard result.status == 0 else { throw TestFailure("nft refused the partition rules: \(result.errors)") }
    }

    /// Ends the partition.
    func heal() throws {
        guard let nft = TestSupport.which("nft") else { throw TestFailure("nft is not installed: apt-get install nftables") }
        let result = try runToFiles(Self.ip, ["netns", "exec", name, nft, "delete", "table", "inet", "heddle_partition"], timeout: 10)
        guard result.status == 0 else { throw TestFailure("nft could not delete the partition rules: \(result.errors)") }
    }

    private func remove() {
        _ = try? runToFiles(Self.ip, ["link", "del", hostLink], timeout: 10)
        _ = try? runToFiles(Self.ip, ["netns", "del", name], timeout: 10)
    }
}
