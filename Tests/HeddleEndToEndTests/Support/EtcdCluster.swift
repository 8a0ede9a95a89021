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

    /// Member `index`'s answer to a linearizable read of `key` (the whole key, the control
    /// plane's prefix included); nil when it holds none.
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
