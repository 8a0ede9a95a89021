import Foundation
import HeddleCore
import NIOCore
import Prometheus
import NIOHTTP1
import NIOPosix

/// The admin endpoint: `/live`, `/ready`, `/metrics` (Prometheus text), `/config` (the
/// configuration in force, JSON) and `/identity` (`IdentityReport`, JSON). Off the data path, so it uses NIOHTTP1's full pipeline.
enum AdminServer {
    static func bind(_ address: HostPort, group: any EventLoopGroup, server: ProxyServer) async throws -> any Channel {
        do {
            return try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(AdminHandler(server: server))
                    }
                }
                .bind(host: address.host, port: address.port)
                .get()
        } catch {
            throw ProxyStartError(message: "cannot listen on \(address) for admin: \(error)")
        }
    }
}

/// Answers one admin request at a time.
final class AdminHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let server: ProxyServer
    private var path = ""
    private var method = HTTPMethod.GET
    private var keepAlive = true

    init(server: ProxyServer) {
        self.server = server
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            path = String(head.uri.split(separator: "?", maxSplits: 1).first ?? "")
            method = head.method
            keepAlive = head.isKeepAlive
        case .body:
            break
        case .end:
            let (status, contentType, body) = respond()
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: contentType)
            headers.add(name: "Content-Length", value: String(body.count))
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            if method != .HEAD {
                context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
            }
            let keepAlive = self.keepAlive
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { channel.close(promise: nil) }
            }
        }
    }

    private func respond() -> (HTTPResponseStatus, String, [UInt8]) {
        guard method == .GET || method == .HEAD else {
            return (.methodNotAllowed, "text/plain", Array("only GET\n".utf8))
        }
        switch path {
        case "/live":
            return (.ok, "text/plain", Array("live\n".utf8))
        case "/ready":
            return server.isReady
                ? (.ok, "text/plain", Array("ready\n".utf8))
                : (.serviceUnavailable, "text/plain", Array("not ready\n".utf8))
        case "/metrics":
            return (.ok, "text/plain; version=0.0.4", server.metrics.registry.emitToBuffer())
        case "/config":
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let document = ConfigDocument(generation: server.currentGeneration, config: server.config)
            let body = (try? encoder.encode(document)).map(Array.init) ?? Array("{}".utf8)
            return (.ok, "application/json", body + [UInt8(ascii: "\n")])
        case "/identity":
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let body = (try? encoder.encode(IdentityReport(tls: server.meshTLS, config: server.config))).map(Array.init) ?? Array("{}".utf8)
            return (.ok, "application/json", body + [UInt8(ascii: "\n")])
        default:
            return (.notFound, "text/plain", Array("not found: try /live, /ready, /metrics, /config, /identity\n".utf8))
        }
    }
}

/// The `/config` document: the generation in force and the configuration.
struct ConfigDocument: Encodable {
    let generation: Int
    let config: MeshConfig
}
