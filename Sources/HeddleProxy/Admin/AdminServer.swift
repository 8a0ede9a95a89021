import Foundation
import HeddleCore
import NIOCore
import Prometheus
import NIOHTTP1
import NIOPosix

/// The admin endpoint: `/live`, `/ready`, `/metrics` (Prometheus text), `/config` (the
/// configuration in force, JSON), `/identity` (`IdentityReport`, JSON), `/tap` (live request
/// events, JSON lines) and `/failures[?id=]` (remembered failed requests, JSON lines). Off the data path, so it uses NIOHTTP1's full pipeline.
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
    private var query: [String: String] = [:]
    /// Every value of each query parameter (`header` repeats).
    private var queryPairs: [String: [String]] = [:]
    private var method = HTTPMethod.GET
    private var keepAlive = true
    /// The tap this connection streams, once `/tap` was asked for.
    private var tap: TapSubscription?
    private var tapTask: RepeatedTask?

    init(server: ProxyServer) {
        self.server = server
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            let parts = head.uri.split(separator: "?", maxSplits: 1)
            path = String(parts.first ?? "")
            query = parts.count > 1 ? Self.parameters(parts[1]) : [:]
            queryPairs = parts.count > 1 ? Self.repeatedParameters(parts[1]) : [:]
            method = head.method
            keepAlive = head.isKeepAlive
        case .body:
            break
        case .end:
            guard tapTask == nil else { return }
            if path == "/tap", method == .GET {
                startTap(context: context)
                return
            }
            if path == "/explain", method == .GET {
                let headers = (queryPairs["header"] ?? []).compactMap { text -> (name: String, value: String)? in
                    guard let colon = text.firstIndex(of: ":") else { return nil }
                    return (text[..<colon].trimmingCharacters(in: .whitespaces).lowercased(), text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces))
                }
                let rawPath = query["path"].flatMap { $0.isEmpty ? nil : $0 } ?? "/"
                let pathPart = rawPath.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
                let queryPart = pathPart.count > 1 ? Self.parameters(pathPart[1]).map { (name: $0.key, value: $0.value) } : []
                let request = DescribedRequest(
                    host: Substring((query["host"] ?? "").lowercased()), path: pathPart[0], method: Substring(query["method"].flatMap { $0.isEmpty ? nil : $0.uppercased() } ?? "GET"),
                    headers: headers, query: queryPart)
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                server.preview(request, listener: query["listener"].flatMap { $0.isEmpty ? nil : $0 } ?? "outbound", on: context.eventLoop).whenComplete { result in
                    let (handler, context) = loopBound.value
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                    let body = (try? result.get()).flatMap { try? encoder.encode($0) }.map { String(decoding: $0, as: UTF8.self) } ?? "{}"
                    handler.respondPlain(context: context, status: .ok, body + "\n", contentType: "application/json")
                }
                return
            }
            if path == "/endpoints", method == .GET {
                guard let service = query["service"], !service.isEmpty else {
                    respondPlain(context: context, status: .badRequest, "/endpoints needs ?service=NAME\n")
                    return
                }
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                server.endpoints(service: service, on: context.eventLoop).whenComplete { result in
                    let (handler, context) = loopBound.value
                    guard let endpoints = (try? result.get()) ?? nil else {
                        handler.respondPlain(context: context, status: .notFound, "this proxy does not send to the service '\(service)'\n")
                        return
                    }
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                    let body = (try? encoder.encode(endpoints)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
                    handler.respondPlain(context: context, status: .ok, body + "\n", contentType: "application/json")
                }
                return
            }
            if path == "/failures", method == .GET {
                // The loops are asked on their own threads; the answer is written back here.
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                server.failures(id: query["id"].flatMap { $0.isEmpty ? nil : $0 }, on: context.eventLoop).whenComplete { result in
                    let (handler, context) = loopBound.value
                    let lines = (try? result.get()) ?? []
                    handler.respondPlain(context: context, status: .ok, lines.map { $0 + "\n" }.joined(), contentType: "application/x-ndjson")
                }
                return
            }
            if path == "/metrics", method == .GET || method == .HEAD {
                // The route metrics are read on each loop, which alone writes them.
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                server.metricsText(on: context.eventLoop).whenComplete { result in
                    let (handler, context) = loopBound.value
                    handler.send(context: context, status: .ok, contentType: "text/plain; version=0.0.4", body: (try? result.get()) ?? [])
                }
                return
            }
            let (status, contentType, body) = respond()
            send(context: context, status: status, contentType: contentType, body: body)
        }
    }

    private func send(context: ChannelHandlerContext, status: HTTPResponseStatus, contentType: String, body: [UInt8]) {
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

    func channelInactive(context: ChannelHandlerContext) {
        stopTap()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopTap()
    }

    /// `/tap?path=&method=&status=&rate=&max=&duration=`: a JSON line per matching request,
    /// sent every 100 ms, until `max` events or `duration` seconds (or the client leaves).
    private func startTap(context: ChannelHandlerContext) {
        let filter: TapFilter
        switch TapFilter.parse(query) {
        case .success(let parsed): filter = parsed
        case .failure(let error):
            respondPlain(context: context, status: .badRequest, "\(error.reason)\n")
            return
        }
        func number(_ name: String, in range: ClosedRange<Int>, default value: Int?) -> Int?? {
            guard let text = query[name], !text.isEmpty else { return .some(value) }
            guard let parsed = Int(text), range.contains(parsed) else { return nil }
            return .some(parsed)
        }
        guard let rate = number("rate", in: 1...1000, default: 100), let max = number("max", in: 1...1_000_000, default: nil),
              let seconds = number("duration", in: 1...86_400, default: nil)
        else {
            respondPlain(context: context, status: .badRequest, "rate must be 1 to 1000 events a second, max 1 to 1000000 events, duration 1 to 86400 seconds\n")
            return
        }
        let tap = TapSubscription(filter: filter, maxPerSecond: rate ?? 100)
        self.tap = tap
        server.addTap(tap)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/x-ndjson")
        headers.add(name: "Cache-Control", value: "no-store")
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        let end = seconds.map { NIODeadline.now() + .seconds(Int64($0)) }
        let sentCount = NIOLoopBoundBox(0, eventLoop: context.eventLoop)
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        tapTask = context.eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) { [weak self] task in
            guard let self else {
                task.cancel()
                return
            }
            let context = loopBound.value
            let (lines, skipped) = tap.drain()
            var buffer = context.channel.allocator.buffer(capacity: lines.reduce(0) { $0 + $1.utf8.count + 1 } + 32)
            var sent = sentCount.value
            for line in lines {
                if let max, sent >= max { break }
                buffer.writeString(line)
                buffer.writeStaticString("\n")
                sent += 1
            }
            sentCount.value = sent
            if skipped > 0 { buffer.writeString("{\"skipped\":\(skipped)}\n") }
            if buffer.readableBytes > 0 { context.writeAndFlush(self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil) }
            let done = (max.map { sent >= $0 } ?? false) || (end.map { NIODeadline.now() >= $0 } ?? false)
            if done {
                self.stopTap()
                let channel = context.channel
                context.writeAndFlush(self.wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }

    private func stopTap() {
        tapTask?.cancel()
        tapTask = nil
        if let tap {
            self.tap = nil
            server.removeTap(tap)
        }
    }

    private func respondPlain(context: ChannelHandlerContext, status: HTTPResponseStatus, _ text: String, contentType: String = "text/plain") {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(text.utf8.count))
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: text)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    /// `a=1&b=%2Fx` as a dictionary, percent-decoded (the last value of a repeated name).
    static func parameters(_ query: Substring) -> [String: String] {
        repeatedParameters(query).compactMapValues(\.last)
    }

    /// Every value of each name, in order, percent-decoded.
    static func repeatedParameters(_ query: Substring) -> [String: [String]] {
        var result: [String: [String]] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard let name = parts.first.flatMap({ String($0).removingPercentEncoding }) else { continue }
            let value = parts.count > 1 ? (String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "") : ""
            result[name, default: []].append(value)
        }
        return result
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
            return (.notFound, "text/plain", Array("not found: try /live, /ready, /metrics, /config, /identity, /tap, /failures, /explain, /endpoints\n".utf8))
        }
    }
}

/// The `/config` document: the generation in force and the configuration.
struct ConfigDocument: Encodable {
    let generation: Int
    let config: MeshConfig
}
