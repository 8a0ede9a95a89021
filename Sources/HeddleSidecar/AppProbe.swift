import AsyncHTTPClient
import HeddleCore
import NIOCore
import NIOHTTP1
import NIOPosix

/// Checks of the local app: does it listen (one TCP connect, closed at once), and does it
/// answer its health path.
enum AppProbe {
    /// The app's health check as `options` configure it.
    static func passes(_ options: SidecarOptions) async -> Bool {
        guard let path = options.appHealthPath, options.appProtocol == .http1 else {
            return await accepts(host: options.appHost, port: options.appPort)
        }
        let request = HTTPClientRequest(url: "http://\(options.appHost):\(options.appPort)\(path.hasPrefix("/") ? path : "/" + path)")
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(2))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            return (200..<400).contains(Int(response.status.code))
        } catch {
            return false
        }
    }

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
