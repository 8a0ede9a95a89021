import ArgumentParser
import Foundation
import HeddleCore
import HeddleProxy
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import UnixSignals

/// `heddle demo`: a proxy in front of two versions of a sample app, with a 90/10 canary split
/// and a header route, and traffic through it, narrated.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start a proxy in front of a sample app (v1 and a v2 canary) and send traffic through it."
    )

    @Option(help: "Port of the proxy's outbound listener (0 picks a free one).")
    var port = 4140

    @Option(help: "Port of the proxy's admin endpoint (0 picks a free one).")
    var adminPort = 4191

    @Option(help: "Requests to send through the canary split.")
    var requests = 20

    @Flag(help: "Keep the mesh running after the traffic, until Ctrl-C.")
    var keepRunning = false

    func run() async throws {
        let logger = LogSetup.bootstrap(level: .warning)
        let appGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let v1 = try await SampleApp.start(name: "hello-v1", group: appGroup)
        let v2 = try await SampleApp.start(name: "hello-v2", group: appGroup)
        let yaml = Self.config(v1Port: v1.localAddress?.port ?? 0, v2Port: v2.localAddress?.port ?? 0, port: port, adminPort: adminPort)
        let config = try MeshConfig.load(yaml: yaml)
        let server = try await ProxyServer(config: config, workers: 1, logger: logger)
        try await server.start()
        let proxyPort = server.boundAddresses["outbound"]?.port ?? port
        let adminPort = server.boundAddresses["admin"]?.port ?? self.adminPort

        print("""
            Heddle demo: a proxy on 127.0.0.1:\(proxyPort) in front of two versions of a sample app
              hello-v1 on 127.0.0.1:\(v1.localAddress?.port ?? 0)    hello-v2 on 127.0.0.1:\(v2.localAddress?.port ?? 0)
            Route 'hello': host hello → 90 % hello-v1, 10 % hello-v2; header x-canary: always → hello-v2.

            """)
        print("1. \(requests) requests to http://hello/ through the proxy (the 90/10 split):")
        var counts: [String: Int] = [:]
        for index in 1...max(1, requests) {
            let response = try DemoClient.get(port: proxyPort, host: "hello", path: "/demo/\(index)")
            let servedBy = response.header("x-served-by") ?? "?"
            counts[servedBy, default: 0] += 1
            print("   \(response.status) \(response.body.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        print("   split: " + counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))

        print("\n2. A request with x-canary: always goes to v2 by header match:")
        let canary = try DemoClient.get(port: proxyPort, host: "hello", path: "/", headers: [("x-canary", "always")])
        print("   \(canary.status) \(canary.body.trimmingCharacters(in: .whitespacesAndNewlines))")

        print("\n3. A request for a host with no route: the proxy says why, in headers and body:")
        let missing = try DemoClient.get(port: proxyPort, host: "nowhere", path: "/")
        print("   \(missing.status) heddle-error: \(missing.header("heddle-error") ?? "-")")
        print("   Proxy-Status: \(missing.header("proxy-status") ?? "-")")

        print("\n4. Metrics from the admin endpoint (http://127.0.0.1:\(adminPort)/metrics):")
        let metrics = try DemoClient.get(port: adminPort, host: "admin", path: "/metrics")
        for line in metrics.body.split(separator: "\n") where (line.hasPrefix("heddle_requests_total") || line.hasPrefix("heddle_proxy_errors_total")) && !line.hasSuffix(" 0") {
            print("   \(line)")
        }

        if keepRunning {
            print("""

                The mesh keeps running. Try:
                  curl -s -x http://127.0.0.1:\(proxyPort) http://hello/
                  curl -s -H 'Host: hello' -H 'x-canary: always' http://127.0.0.1:\(proxyPort)/
                  curl -s http://127.0.0.1:\(adminPort)/config
                Ctrl-C stops it.
                """)
            let group = ServiceGroup(configuration: .init(
                services: [.init(service: WaitForShutdown())], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        }
        await server.drain(gracePeriod: .seconds(1))
        await server.shutdown()
        try await v1.close()
        try await v2.close()
        try await appGroup.shutdownGracefully()
        print("\nDemo done.")
    }

    static func config(v1Port: Int, v2Port: Int, port: Int, adminPort: Int) -> String {
        """
        apiVersion: heddle.dev/v1alpha1
        kind: Proxy
        metadata:
          name: demo
        spec:
          outbound:
            address: 127.0.0.1:\(port)
          admin:
            address: 127.0.0.1:\(adminPort)
        ---
        apiVersion: heddle.dev/v1alpha1
        kind: Service
        metadata:
          name: hello-v1
        spec:
          endpoints:
            - address: 127.0.0.1:\(v1Port)
        ---
        apiVersion: heddle.dev/v1alpha1
        kind: Service
        metadata:
          name: hello-v2
        spec:
          endpoints:
            - address: 127.0.0.1:\(v2Port)
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          name: hello
        spec:
          hostnames: [hello]
          rules:
            - matches:
                - headers:
                    - name: x-canary
                      value: always
              backendRefs:
                - name: hello-v2
            - backendRefs:
                - name: hello-v1
                  weight: 90
                - name: hello-v2
                  weight: 10
        """
    }
}

/// A service that does nothing until the group shuts down.
struct WaitForShutdown: Service {
    func run() async throws {
        try? await gracefulShutdown()
    }
}
