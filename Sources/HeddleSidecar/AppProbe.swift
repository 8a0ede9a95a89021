import NIOCore
import NIOPosix

/// Whether the local app listens: one TCP connect, closed at once.
enum AppProbe {
    static func accepts(host: String, port: Int, timeout: TimeAmount = .milliseconds(500)) async -> Bool {
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(timeout)
                .connect(host: host, port: port)
                .get()
            try? await channel.close()
            return true
        } catch {
            return false
        }
    }
}
