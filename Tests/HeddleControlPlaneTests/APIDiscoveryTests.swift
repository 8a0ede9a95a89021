import Foundation
import HeddleAPI
import HeddleControlPlane
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// The watch stream (NDJSON), acknowledgements, `/v1/proxies`, `/live` and `/ready`.
@Suite("API discovery")
struct APIDiscoveryTests {
    @Test("GET /v1/watch streams NDJSON: the snapshot, keep-alive lines, a push per change; shutdown ends it")
    func watchStream() async throws {
        var settings = testSettings(pushDelay: .milliseconds(20))
        settings.keepAliveInterval = .milliseconds(20)
        let controlPlane = try await makeControlPlane(settings: settings)
        _ = try await controlPlane.apply(yaml: serviceYAML("web"))
        try await withAPI(controlPlane) { client in
            let response = try await withThrowingTaskGroup(of: TestResponse.self) { group in
                group.addTask { try await client.execute(uri: "/v1/watch?proxy=web-1&service=web", method: .get) }
                try await eventually("the watch to open") { await controlPlane.proxies().items.first?.connected == true }
                try await Task.sleep(for: .milliseconds(150))
                _ = try await controlPlane.apply(yaml: serviceYAML("api"))
                try await eventually("the push") { await controlPlane.proxies().items.first?.pushedVersion == 2 }
                controlPlane.closeWatches()
                return try await group.next()!
            }
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/x-ndjson")
            let text = String(buffer: response.body)
            #expect(text.contains("\n\n"), "keep-alive lines")
            let lines = text.split(separator: "\n")
            let pushes = try lines.map { try JSONDecoder().decode(ConfigPush.self, from: Data($0.utf8)) }
            #expect(pushes.map(\.version) == [1, 2])
            // The first push is whole; the next is a delta carrying only the new service.
            #expect(pushes[0].baseVersion == nil && pushes[0].resources.map(\.key) == ["Service/web"])
            #expect(pushes[1].baseVersion == 1 && pushes[1].resources.map(\.key) == ["Service/api"] && pushes[1].removed.isEmpty)
            #expect(pushes[1].resources[0].document.contains("name: api"))
            let whole = try #require(pushes[1].applied(to: pushes[0]))
            #expect(whole.resources.map(\.key) == ["Service/web", "Service/api"])
        }
    }

    @Test("A watch resumed from the current digest starts with an empty delta; from an old one, with the whole")
    func watchResume() async throws {
        let controlPlane = try await makeControlPlane(settings: testSettings(pushDelay: .milliseconds(20)))
        _ = try await controlPlane.apply(yaml: serviceYAML("web"))
        let held = await controlPlane.snapshot(calls: ["web"], service: "web")
        // A change that does not touch what the proxy gets still moves the version on.
        _ = try await controlPlane.apply(yaml: """
            apiVersion: heddle.dev/v1alpha1
            kind: AuthorizationPolicy
            metadata: {name: api-allow-web}
            spec: {targetService: api, action: ALLOW, rules: [{from: {services: [web]}}]}
            """)
        let current = await controlPlane.snapshot(calls: ["web"], service: "web")
        #expect(current.version > held.version)
        try await withAPI(controlPlane) { client in
            func firstPush(_ query: String) async throws -> ConfigPush {
                try await withThrowingTaskGroup(of: TestResponse.self) { group in
                    group.addTask { try await client.execute(uri: "/v1/watch?proxy=web-1&service=web&calls=web" + query, method: .get) }
                    try await eventually("the watch to open") { await controlPlane.proxies().items.first?.connected == true }
                    controlPlane.closeWatches()
                    let response = try await group.next()!
                    #expect(response.status == .ok)
                    let line = try #require(String(buffer: response.body).split(separator: "\n").first)
                    return try JSONDecoder().decode(ConfigPush.self, from: Data(line.utf8))
                }
            }
            let resumed = try await firstPush("&version=\(held.version)&digest=\(held.digest)")
            #expect(resumed.changesNothing && resumed.baseVersion == held.version && resumed.version == current.version)
            #expect(resumed.applied(to: held)?.digest == current.digest)
        }
        let controlPlane2 = try await makeControlPlane()
        _ = try await controlPlane2.apply(yaml: serviceYAML("web") + "\n---\n" + serviceYAML("api"))
        try await withAPI(controlPlane2) { client in
            let response = try await withThrowingTaskGroup(of: TestResponse.self) { group in
                group.addTask { try await client.execute(uri: "/v1/watch?proxy=web-1&service=web&version=\(held.version)&digest=\(held.digest)", method: .get) }
                try await eventually("the watch to open") { await controlPlane2.proxies().items.first?.connected == true }
                controlPlane2.closeWatches()
                return try await group.next()!
            }
            let line = try #require(String(buffer: response.body).split(separator: "\n").first)
            let first = try JSONDecoder().decode(ConfigPush.self, from: Data(line.utf8))
            #expect(!first.isDelta && first.resources.map(\.key) == ["Service/api", "Service/web"], "a stale resume point gets the whole")
        }
    }

    @Test("A resume point that is half given or malformed is 400 naming the fault")
    func watchResumeErrors() async throws {
        let controlPlane = try await makeControlPlane()
        let digest = String(repeating: "ab", count: 32)
        try await withAPI(controlPlane) { client in
            for (query, message) in [
                ("&version=3", "version and digest go together: give both to resume a watch, or neither"),
                ("&digest=\(digest)", "version and digest go together: give both to resume a watch, or neither"),
                ("&version=x&digest=\(digest)", "version: 'x' is not a version (a whole number)"),
                ("&version=-1&digest=\(digest)", "version: '-1' is not a version (a whole number)"),
                ("&version=3&digest=ABC", "digest: not a SHA-256 digest (64 lowercase hex digits)"),
            ] {
                try await client.execute(uri: "/v1/watch?proxy=p" + query, method: .get) { response async throws in
                    #expect(try apiError(response, .badRequest).message == message, "\(query)")
                }
            }
        }
    }

    @Test("A watch without a proxy id is 400; during shutdown 503")
    func watchErrors() async throws {
        let controlPlane = try await makeControlPlane()
        try await withAPI(controlPlane) { client in
            try await client.execute(uri: "/v1/watch", method: .get) { response async throws in
                #expect(try apiError(response, .badRequest).message == "proxy is required: /v1/watch?proxy=ID[&service=NAME]")
            }
            try await client.execute(uri: "/v1/watch?proxy=p&service=Bad_Name", method: .get) { response async throws in
                #expect(try apiError(response, .badRequest).code == "invalid")
            }
            controlPlane.closeWatches()
            try await client.execute(uri: "/v1/watch?proxy=p", method: .get) { response async throws in
                #expect(try apiError(response, .serviceUnavailable).code == "unavailable")
            }
        }
    }

    @Test("Acks are 204 and show in /v1/proxies; a malformed ack is 400; one from a proxy that never watched 404")
    func acks() async throws {
        let controlPlane = try await makeControlPlane()
        try await withAPI(controlPlane) { client in
            try await client.execute(uri: "/v1/proxies/web-1/ack", method: .post, headers: jsonHeaders, body: try jsonBody(PushAck(version: 0, accepted: true))) { response async throws in
                #expect(try apiError(response, .notFound).message == "proxy web-1 has never watched (GET /v1/watch?proxy=web-1 first)")
            }
            try await controlPlane.watch(proxyID: "web-1", service: nil).cancel()
            let ack = PushAck(version: 3, accepted: false, errors: [FieldError(resource: "HTTPRoute/shop", path: "spec.parentRefs[0].name", reason: "no listener is named 'edge'")])
            try await client.execute(uri: "/v1/proxies/web-1/ack", method: .post, headers: jsonHeaders, body: try jsonBody(ack)) { response async throws in
                #expect(response.status == .noContent)
            }
            try await client.execute(uri: "/v1/proxies/web-1/ack", method: .post, headers: jsonHeaders, body: ByteBuffer(string: #"{"version": 1}"#)) { response async throws in
                #expect(try apiError(response, .badRequest).message == "the body is not a valid PushAck: accepted is required")
            }
            try await client.execute(uri: "/v1/proxies", method: .get) { response async throws in
                let proxies = try decode(ItemList<ProxyStatus>.self, response).items
                #expect(proxies == [ProxyStatus(id: "web-1", connected: false, ackedVersion: 3, accepted: false, errors: ack.errors)])
            }
            // The light form: the version alone, accepted, no body.
            try await client.execute(uri: "/v1/proxies/web-1/ack?version=4", method: .post) { response async throws in
                #expect(response.status == .noContent)
            }
            try await client.execute(uri: "/v1/proxies", method: .get) { response async throws in
                let proxies = try decode(ItemList<ProxyStatus>.self, response).items
                #expect(proxies == [ProxyStatus(id: "web-1", connected: false, ackedVersion: 4, accepted: true, errors: [])])
            }
            for bad in ["x", "-1", ""] {
                try await client.execute(uri: "/v1/proxies/web-1/ack?version=\(bad)", method: .post) { response async throws in
                    #expect(try apiError(response, .badRequest).message == "version: '\(bad)' is not a configuration version")
                }
            }
        }
    }

    @Test("/live is 200; /ready is 200, then 503 once shutting down")
    func health() async throws {
        let controlPlane = try await makeControlPlane()
        try await withAPI(controlPlane) { client in
            try await client.execute(uri: "/live", method: .get) { response async throws in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "{\"status\":\"live\"}\n")
            }
            try await client.execute(uri: "/ready", method: .get) { response async throws in
                #expect(response.status == .ok)
            }
            controlPlane.closeWatches()
            try await client.execute(uri: "/ready", method: .get) { response async throws in
                #expect(try apiError(response, .serviceUnavailable).message == "the control plane is shutting down")
            }
        }
    }
}
