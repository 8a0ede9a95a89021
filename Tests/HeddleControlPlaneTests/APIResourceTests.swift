import HeddleAPI
import HeddleControlPlane
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// `POST /v1/apply` and `/v1/resources` over HTTP, errors included.
@Suite("API resources")
struct APIResourceTests {
    @Test("Apply raw YAML, then as an ApplyRequest; a dry run stores nothing")
    func apply() async throws {
        let controlPlane = try await makeControlPlane()
        try await withAPI(controlPlane) { client in
            try await client.execute(uri: "/v1/apply", method: .post, headers: yamlHeaders, body: ByteBuffer(string: serviceYAML("web"))) { response async throws in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                let result = try decode(ApplyResult.self, response)
                #expect(result.items.map(\.action) == [.created])
                #expect(result.revision == 1)
            }
            let request = ApplyRequest(yaml: routeYAML("shop", backends: ["web"]))
            try await client.execute(uri: "/v1/apply?dryRun=true", method: .post, headers: [.contentType: "application/json; charset=utf-8"], body: try jsonBody(request)) { response async throws in
                let result = try decode(ApplyResult.self, response)
                #expect(result.dryRun)
                #expect(result.items.map(\.action) == [.created])
            }
            try await client.execute(uri: "/v1/apply", method: .post, headers: jsonHeaders, body: ByteBuffer(string: #"{"yaml": \#(jsonString(routeYAML("shop", backends: ["web"])))}"#)) { response async throws in
                #expect(try decode(ApplyResult.self, response).items.map(\.revision) == [2])
            }
        }
    }

    @Test("A mix is 200 with the refused document's errors; when nothing applies it is 400 with every field error")
    func refusals() async throws {
        let controlPlane = try await makeControlPlane()
        try await withAPI(controlPlane) { client in
            let mixed = stream(serviceYAML("web"), "apiVersion: heddle.dev/v1alpha1\nkind: Service\nmetadata: {name: api}\nspec: {endpoints: [], colour: red}")
            try await client.execute(uri: "/v1/apply", method: .post, headers: yamlHeaders, body: ByteBuffer(string: mixed)) { response async throws in
                #expect(response.status == .ok)
                let result = try decode(ApplyResult.self, response)
                #expect(result.items.map(\.action) == [.created, .refused])
                #expect(result.items[1].errors.map(\.path) == ["spec.colour"])
                #expect(result.items[1].errors.map(\.line) == [13])
            }
            try await client.execute(uri: "/v1/apply", method: .post, headers: yamlHeaders, body: ByteBuffer(string: "kind: Service\nmetadata: {name: x}\n")) { response async throws in
                let error = try apiError(response, .badRequest)
                #expect(error.code == "invalid")
                #expect(error.errors.map(\.reason) == ["apiVersion is required (heddle.dev/v1alpha1)", "spec is required"])
            }
        }
    }

    @Test("Bad requests: no or unknown content type 415, malformed JSON 400, a missing field 400, a body too large 413, a bad flag 400")
    func badRequests() async throws {
        let controlPlane = try await makeControlPlane()
        try await withAPI(controlPlane, maxBodyBytes: 1024) { client in
            try await client.execute(uri: "/v1/apply", method: .post, body: ByteBuffer(string: serviceYAML("web"))) { response async throws in
                #expect(try apiError(response, .unsupportedMediaType).code == "unsupported-media-type")
            }
            try await client.execute(uri: "/v1/apply", method: .post, headers: [.contentType: "text/plain"], body: ByteBuffer(string: "x")) { response async throws in
                #expect(try apiError(response, .unsupportedMediaType).message == "Content-Type 'text/plain' is not accepted: send application/json or application/yaml")
            }
            try await client.execute(uri: "/v1/apply", method: .post, headers: jsonHeaders, body: ByteBuffer(string: "{\"yaml\": ")) { response async throws in
                #expect(try apiError(response, .badRequest).message == "the body is not a valid ApplyRequest: malformed JSON")
            }
            try await client.execute(uri: "/v1/apply", method: .post, headers: jsonHeaders, body: ByteBuffer(string: "{\"dryRun\": true}")) { response async throws in
                #expect(try apiError(response, .badRequest).message == "the body is not a valid ApplyRequest: yaml is required")
            }
            try await client.execute(uri: "/v1/apply", method: .post, headers: jsonHeaders, body: ByteBuffer(string: "{\"yaml\": 3}")) { response async throws in
                #expect(try apiError(response, .badRequest).message == "the body is not a valid ApplyRequest: yaml: expected String")
            }
            try await client.execute(uri: "/v1/apply", method: .post, headers: jsonHeaders) { response async throws in
                #expect(try apiError(response, .badRequest).message == "the request body is empty: send a JSON ApplyRequest")
            }
            let huge = ByteBuffer(string: String(repeating: "# padding\n", count: 200))
            try await client.execute(uri: "/v1/apply", method: .post, headers: yamlHeaders, body: huge) { response async throws in
                let error = try apiError(response, .contentTooLarge)
                #expect(error.code == "too-large")
                #expect(error.message == "the request body is larger than 1024 bytes")
            }
            try await client.execute(uri: "/v1/apply?dryRun=maybe", method: .post, headers: yamlHeaders, body: ByteBuffer(string: serviceYAML("web"))) { response async throws in
                #expect(try apiError(response, .badRequest).message == "dryRun must be true or false, not 'maybe'")
            }
            try await client.execute(uri: "/v1/apply", method: .post, headers: yamlHeaders, body: ByteBuffer(bytes: [0xFF, 0xFE, 0x00, 0x41])) { response async throws in
                #expect(try apiError(response, .badRequest).code == "invalid")
            }
        }
        #expect(try await controlPlane.list().items.isEmpty)
    }

    @Test("GET lists and reads resources; unknown kinds are 400, missing resources 404")
    func read() async throws {
        let controlPlane = try await makeControlPlane()
        _ = try await controlPlane.apply(yaml: stream(serviceYAML("web"), routeYAML("shop", backends: ["Cart_1"])))
        try await withAPI(controlPlane) { client in
            try await client.execute(uri: "/v1/resources", method: .get) { response async throws in
                let list = try decode(ItemList<ResourceEnvelope>.self, response)
                #expect(list.revision == 2)
                #expect(list.items.map(\.name) == ["shop", "web"])
                #expect(list.items.map(\.status.state) == [.refused, .accepted])
            }
            try await client.execute(uri: "/v1/resources?kind=Service", method: .get) { response async throws in
                #expect(try decode(ItemList<ResourceEnvelope>.self, response).items.map(\.name) == ["web"])
            }
            try await client.execute(uri: "/v1/resources?kind=Gadget", method: .get) { response async throws in
                #expect(try apiError(response, .badRequest).message == "unknown kind 'Gadget' (the control plane keeps Service, HTTPRoute, AuthorizationPolicy)")
            }
            try await client.execute(uri: "/v1/resources/HTTPRoute/shop", method: .get) { response async throws in
                let envelope = try decode(ResourceEnvelope.self, response)
                #expect(envelope.document == routeYAML("shop", backends: ["Cart_1"]).trimmingSuffixNewlines)
                #expect(envelope.status.errors.map(\.reason) == ["service 'Cart_1' is not defined"])
            }
            try await client.execute(uri: "/v1/resources/Service/nope", method: .get) { response async throws in
                let error = try apiError(response, .notFound)
                #expect(error.code == "not-found")
                #expect(error.message == "Service/nope does not exist")
            }
        }
    }

    @Test("DELETE with a stale expectedRevision is 409 with the current revision; with the right one 200")
    func delete() async throws {
        let controlPlane = try await makeControlPlane()
        _ = try await controlPlane.apply(yaml: serviceYAML("web"))
        try await withAPI(controlPlane) { client in
            try await client.execute(uri: "/v1/resources/Service/web?expectedRevision=7", method: .delete) { response async throws in
                let error = try apiError(response, .conflict)
                #expect(error.code == "conflict")
                #expect(error.currentRevision == 1)
                #expect(error.message.contains("at revision 1, not 7"))
            }
            try await client.execute(uri: "/v1/resources/Service/web?expectedRevision=x", method: .delete) { response async throws in
                #expect(try apiError(response, .badRequest).code == "invalid")
            }
            try await client.execute(uri: "/v1/resources/Service/web?expectedRevision=1", method: .delete) { response async throws in
                #expect(response.status == .ok)
                #expect(try decode(DeleteResult.self, response) == DeleteResult(kind: "Service", name: "web", revision: 2))
            }
            try await client.execute(uri: "/v1/resources/Service/web", method: .delete) { response async throws in
                #expect(try apiError(response, .notFound).code == "not-found")
            }
        }
    }

    @Test("An unknown route or method is a 404 APIError")
    func unknownRoute() async throws {
        let controlPlane = try await makeControlPlane()
        try await withAPI(controlPlane) { client in
            try await client.execute(uri: "/v2/everything", method: .get) { response async throws in
                #expect(try apiError(response, .notFound).message == "no route for GET /v2/everything")
            }
            try await client.execute(uri: "/v1/apply", method: .get) { response async throws in
                #expect(try apiError(response, .notFound).code == "not-found")
            }
        }
    }
}

/// `text` as a JSON string literal.
func jsonString(_ text: String) -> String {
    String(buffer: (try? jsonBody(text)) ?? ByteBuffer())
}

extension String {
    var trimmingSuffixNewlines: String {
        var text = self
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }
}
