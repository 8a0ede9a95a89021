import AsyncHTTPClient
import Foundation
import HeddleAPI
import HeddleCore
import Hummingbird
import NIOCore
import NIOHTTP1

/// `GET /v1/tap?service=NAME[&path=&method=&status=&rate=&max=&duration=]`: live request events
/// of a service, relayed from its instances' proxies (`heddle tap`). Each instance's proxy sees
/// the requests to the service (inbound) and those it makes (outbound); its admin endpoint's
/// `/tap` sends at most `rate` events a second. Lines are JSON, each with the `instance` it
/// came from; the stream ends after `max` events or `duration` seconds, or when the client
/// leaves.
enum TapRoutes {
    static let forwarded = ["path", "method", "status", "rate", "max", "duration"]

    static func add(to router: Router<APIRequestContext>, controlPlane: ControlPlane, client: HTTPClient = .shared) {
        router.get("/v1/tap") { request, _ in
            let parameters = request.uri.queryParameters
            guard let service = parameters.get("service"), !service.isEmpty else {
                throw ControlPlaneError(.invalid, "name the service to tap: /v1/tap?service=NAME")
            }
            let instances = await controlPlane.instances(service: service).items
            guard !instances.isEmpty else {
                throw ControlPlaneError(.notFound, "service '\(service)' has no registered instance to tap")
            }
            let tappable = instances.filter { $0.adminAddress != nil }
            guard !tappable.isEmpty else {
                throw ControlPlaneError(.unavailable, "no instance of '\(service)' registered its proxy's admin address (sidecars do; a proxy registered by hand must send adminAddress)")
            }
            let query = forwarded.compactMap { name in parameters.get(name).map { "\(name)=\(queryEscaped($0))" } }.joined(separator: "&")
            let max = parameters.get("max").flatMap { Int($0) }
            // Open every proxy's tap first: a filter the proxies refuse is the caller's error.
            var opened: [(Instance, HTTPClientResponse)] = []
            var refusals: [String] = []
            for instance in tappable {
                var tapRequest = HTTPClientRequest(url: "http://\(instance.adminAddress!)/tap?\(query)")
                tapRequest.method = .GET
                do {
                    let response = try await client.execute(tapRequest, deadline: .distantFuture)
                    if response.status == .ok {
                        opened.append((instance, response))
                    } else {
                        let body = (try? await response.body.collect(upTo: 64 * 1024)).map { String(buffer: $0) } ?? ""
                        if response.status == .badRequest {
                            throw ControlPlaneError(.invalid, body.trimmingCharacters(in: .whitespacesAndNewlines))
                        }
                        refusals.append("\(instance.id): \(response.status.code)")
                    }
                } catch let error as ControlPlaneError {
                    throw error
                } catch {
                    refusals.append("\(instance.id): \(error)")
                }
            }
            guard !opened.isEmpty else {
                throw ControlPlaneError(.unavailable, "no proxy of '\(service)' could be tapped: \(refusals.joined(separator: "; "))")
            }
            let streams = opened
            // One element per line: the line (with its instance) and whether it is a request
            // event (the others report skipped requests).
            // Bounded: a client that reads slower than the proxies send loses the oldest lines.
            let events = AsyncStream<(line: ByteBuffer, isEvent: Bool)>(bufferingPolicy: .bufferingNewest(10_000)) { continuation in
                let group = Task {
                    await withTaskGroup(of: Void.self) { tasks in
                        for (instance, response) in streams {
                            tasks.addTask {
                                var lines = NDJSONLines(limit: 1 << 20)
                                let prefix = "{\"instance\":\"\(instance.id)\","
                                let skipped = Array("\"skipped\"".utf8)
                                do {
                                    for try await chunk in response.body {
                                        for var line in try lines.feed(chunk) {
                                            var out = ByteBuffer()
                                            // Each line names the instance whose proxy saw it.
                                            if line.readableBytes > 1, line.getInteger(at: line.readerIndex, as: UInt8.self) == UInt8(ascii: "{") {
                                                line.moveReaderIndex(forwardBy: 1)
                                                out.writeString(prefix)
                                            }
                                            let isEvent = !line.readableBytesView.starts(with: skipped)
                                            out.writeBuffer(&line)
                                            out.writeStaticString("\n")
                                            continuation.yield((out, isEvent))
                                        }
                                    }
                                } catch {}
                            }
                        }
                    }
                    continuation.finish()
                }
                continuation.onTermination = { _ in group.cancel() }
            }
            return Response(
                status: .ok, headers: [.contentType: "application/x-ndjson", .cacheControl: "no-store"],
                body: ResponseBody { writer in
                    // `max` counts the events of every proxy together.
                    var sent = 0
                    for await (line, isEvent) in events {
                        try await writer.write(line)
                        if isEvent { sent += 1 }
                        if let max, sent >= max { break }
                    }
                    try await writer.finish(nil)
                })
        }
    }
}
