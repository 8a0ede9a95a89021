import Foundation
import HeddleAPI
import HeddleControlPlane
import HeddleCore
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing

/// The server over a real socket: binds port 0, logs where, serves, and shuts down gracefully
/// with a watch stream open.
@Suite("ControlPlaneServer")
struct ControlPlaneServerTests {
    @Test("Binds port 0 and logs 'listening address=127.0.0.1:PORT'; graceful shutdown ends open watches and the server")
    func lifecycle() async throws {
        let messages = LogCapture()
        let logger = Logger(label: "server-test") { _ in messages.handler }
        var configuration = ControlPlaneServer.Configuration()
        configuration.port = 0
        let (addresses, announce) = AsyncStream.makeStream(of: HostPort.self)
        let server = ControlPlaneServer(store: TestStore(), configuration: configuration, logger: logger) { announce.yield($0) }
        let group = ServiceGroup(services: [server], gracefulShutdownSignals: [], logger: logger)

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = addresses.makeAsyncIterator()
            let address = try #require(await iterator.next())
            #expect(address.host == "127.0.0.1")
            #expect(address.port > 0)
            #expect(messages.lines.contains("listening address=127.0.0.1:\(address.port) listener=api"))

            let client = TestClient(host: "127.0.0.1", port: address.port)
            client.connect()
            #expect(try await client.get("/live").status == .ok)
            let apply = try await client.execute(TestClient.Request("/v1/apply", method: .post, headers: yamlHeaders, body: ByteBuffer(string: serviceYAML("web"))))
            #expect(apply.status == .ok)

            // The watch is silent between its first push and the shutdown: on a loaded machine
            // that can be longer than the client's default 15 s read timeout.
            let watcher = TestClient(host: "127.0.0.1", port: address.port, configuration: .init(timeout: .seconds(120)))
            watcher.connect()
            async let watch = watcher.get("/v1/watch?proxy=p1")
            try await eventually("the watch to open") {
                let response = try await client.get("/v1/proxies")
                let proxies = try JSONDecoder().decode(ItemList<ProxyStatus>.self, from: Data((response.body ?? ByteBuffer()).readableBytesView))
                return proxies.items.first?.connected == true
            }
            try await client.shutdown()

            await group.triggerGracefulShutdown()
            let response = try await watch
            #expect(response.status == .ok)
            let line = try #require(response.body.map { String(buffer: $0) }?.split(separator: "\n").first)
            #expect(try JSONDecoder().decode(ConfigPush.self, from: Data(line.utf8)).version == 1)
            try await watcher.shutdown()
            try await tasks.waitForAll()
        }
    }
}

/// Keeps every log line, rendered as `message key=value ...` with the keys sorted.
final class LogCapture: Sendable {
    private let stored = Mutex<[String]>([])

    var lines: [String] { stored.withLock { $0 } }

    var handler: Handler { Handler(capture: self) }

    fileprivate func append(_ line: String) {
        stored.withLock { $0.append(line) }
    }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            let fields = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            capture.append(([event.message.description] + fields).joined(separator: " "))
        }
    }
}
