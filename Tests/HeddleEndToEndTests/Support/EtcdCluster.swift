import Foundation

/// An etcd cluster of several members (Debian's `etcd-server`), each on free loopback ports —
/// and, with `alsoOn`, on that address too (a veth end a namespaced process reaches) — with
/// data directories in memory when it can be. Members can be killed one by one.
final class EtcdCluster: @unchecked Sendable {
    struct Member {
        let name: String
        let clientPort: Int
        let child: ChildProcess
    }

    let members: [Member]
    private let dataDirectories: [String]
    private let alsoOn: String?

    init(members count: Int, alsoOn: String? = nil) async throws {
        guard let etcd = TestSupport.which("etcd") else { throw TestFailure("etcd is not installed: apt-get install etcd-server") }
        self.alsoOn = alsoOn
        let token = "heddle-\(UUID().uuidString.prefix(8))"
        let names = (0..<count).map { "\(token)-m\($0)" }
        let clientPorts = try names.map { _ in try TestSupport.freePort() }
        let peerPorts = try names.map { _ in try TestSupport.freePort() }
        let cluster = zip(names, peerPorts).map { "\($0)=http://127.0.0.1:\($1)" }.joined(separator: ",")
        let root = FileManager.default.isWritableFile(atPath: "/dev/shm") ? "/dev/shm" : TestSupport.scratchDirectory()
        dataDirectories = names.map { "\(root)/heddle-e2e-\($0)" }
        var started: [Member] = []
        for index in names.indices {
            let client = ["http://127.0.0.1:\(clientPorts[index])"] + (alsoOn.map { ["http://\($0):\(clientPorts[index])"] } ?? [])
            let peer = "http://127.0.0.1:\(peerPorts[index])"
            let child = try ChildProcess(name: names[index], executable: etcd, arguments: [
                "--name", names[index], "--data-dir", dataDirectories[index],
                "--listen-client-urls", client.joined(separator: ","), "--advertise-client-urls", client[0],
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", cluster, "--initial-cluster-token", token, "--initial-cluster-state", "new",
            ])
            started.append(Member(name: names[index], clientPort: clientPorts[index], child: child))
        }
        members = started
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let dead = members.first(where: { !$0.child.isRunning }) { throw TestFailure("etcd member \(dead.name) exited: \(dead.child.stderr.suffix(1500))") }
            if try leader() != nil { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("the etcd cluster elected no leader within 30 s: \(members[0].child.stderr.suffix(1500))")
    }

    deinit {
        for member in members { member.child.stop() }
        for directory in dataDirectories { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// `--store` for a control plane on every member, at `host` (loopback, or `alsoOn`).
    func store(host: String = "127.0.0.1") -> String {
        "etcd://" + members.map { "\(host):\($0.clientPort)" }.joined(separator: ",")
    }

    /// The index of the member that leads now, as the running members report it.
    func leader() throws -> Int? {
        for (index, member) in members.enumerated() where member.child.isRunning {
            let answer = try curl(["-X", "POST", "-d", "{}", "http://127.0.0.1:\(member.clientPort)/v3/maintenance/status"], timeout: 3).output
            guard let object = (try? JSONSerialization.jsonObject(with: Data(answer.utf8))) as? [String: Any],
                  let header = object["header"] as? [String: Any], let id = header["member_id"] as? String,
                  let leader = object["leader"] as? String, leader != "0"
            else { continue }
            if id == leader { return index }
        }
        return nil
    }

    /// Every running member's answer to a linearizable read of `key` (under the control
    /// plane's prefix, as etcd stores it): whether they all hold the same value.
    func value(_ key: String, at index: Int) throws -> String? {
        let request = #"{"key":"\#(Data(key.utf8).base64EncodedString())"}"#
        let answer = try curl(["-X", "POST", "-d", request, "http://127.0.0.1:\(members[index].clientPort)/v3/kv/range"], timeout: 3).output
        guard let object = (try? JSONSerialization.jsonObject(with: Data(answer.utf8))) as? [String: Any],
              let kvs = object["kvs"] as? [[String: Any]], let value = kvs.first?["value"] as? String,
              let data = Data(base64Encoded: value)
        else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}

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
