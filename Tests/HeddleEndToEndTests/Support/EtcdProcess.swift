import Foundation

/// A one-member etcd cluster (Debian's `etcd-server`) for an end-to-end test, on free loopback
/// ports with a data directory in the test's scratch space.
final class EtcdProcess: @unchecked Sendable {
    let child: ChildProcess
    let clientPort: Int
    let dataDirectory: String

    init() async throws {
        guard let etcd = TestSupport.which("etcd") else { throw TestFailure("etcd is not installed: apt-get install etcd-server") }
        clientPort = try TestSupport.freePort()
        let peerPort = try TestSupport.freePort()
        let name = "etcd-\(UUID().uuidString.prefix(6))"
        let client = "http://127.0.0.1:\(clientPort)"
        let peer = "http://127.0.0.1:\(peerPort)"
        // In memory when it can be: etcd fsyncs every write.
        dataDirectory = FileManager.default.isWritableFile(atPath: "/dev/shm") ? "/dev/shm/heddle-e2e-\(name)" : "\(TestSupport.scratchDirectory())/\(name)"
        child = try ChildProcess(name: name, executable: etcd, arguments: [
            "--name", name, "--data-dir", dataDirectory,
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "\(name)=\(peer)",
        ])
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            guard child.isRunning else { throw TestFailure("etcd exited: \(child.stderr.suffix(1500))") }
            if (try? curl(["-s", "\(client)/health"], timeout: 2).output.contains("true")) == true { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("etcd did not serve within 20 s: \(child.stderr.suffix(1500))")
    }

    deinit {
        child.stop()
        try? FileManager.default.removeItem(atPath: dataDirectory)
    }

    /// `--store` for a control plane on this etcd.
    var store: String { "etcd://127.0.0.1:\(clientPort)" }
}
