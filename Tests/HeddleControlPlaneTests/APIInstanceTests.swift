import HeddleAPI
import HeddleControlPlane
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// The registry over HTTP: register, heartbeat, health, deregister, list, services.
@Suite("API instances")
struct APIInstanceTests {
    @Test("Register is 201 with the instance; heartbeat 204; health 200; deregister 204; unknown ids 404")
    func lifecycle() async throws {
        let controlPlane = try await makeControlPlane()
        try await withAPI(controlPlane) { client in
            let body = ByteBuffer(string: #"{"service": "web", "address": "10.0.0.5", "port": 8080, "labels": {"zone": "a"}}"#)
            let instance = try await client.execute(uri: "/v1/instances", method: .post, headers: jsonHeaders, body: body) { response async throws in
                #expect(response.status == .created)
                return try decode(Instance.self, response)
            }
            #expect(instance.protocol == "http2")
            #expect(instance.weight == 1)
            #expect(instance.labels == ["zone": "a"])

            try await client.execute(uri: "/v1/instances/\(instance.id)/heartbeat", method: .post) { response async throws in
                #expect(response.status == .noContent)
                #expect(response.body.readableBytes == 0)
            }
            try await client.execute(uri: "/v1/instances/\(instance.id)/health", method: .post, headers: jsonHeaders, body: try jsonBody(HealthReport(healthy: false))) { response async throws in
                #expect(try decode(Instance.self, response).health == .unhealthy)
            }
            try await client.execute(uri: "/v1/instances?service=web", method: .get) { response async throws in
                #expect(try decode(ItemList<Instance>.self, response).items.map(\.id) == [instance.id])
            }
            try await client.execute(uri: "/v1/instances?service=api", method: .get) { response async throws in
                #expect(try decode(ItemList<Instance>.self, response).items.isEmpty)
            }
            try await client.execute(uri: "/v1/services", method: .get) { response async throws in
                #expect(try decode(ItemList<ServiceSummary>.self, response).items == [ServiceSummary(name: "web", declared: false, healthyInstances: 0, totalInstances: 1)])
            }
            try await client.execute(uri: "/v1/instances/\(instance.id)", method: .delete) { response async throws in
                #expect(response.status == .noContent)
            }
            try await client.execute(uri: "/v1/instances/\(instance.id)/heartbeat", method: .post) { response async throws in
                let error = try apiError(response, .notFound)
                #expect(error.message == "instance \(instance.id) is not registered (register it again)")
            }
            try await client.execute(uri: "/v1/instances/\(instance.id)", method: .delete) { response async throws in
                #expect(try apiError(response, .notFound).code == "not-found")
            }
        }
    }

    @Test("An invalid registration is 400 with every field error; a body of the wrong shape 400; a form body 415")
    func invalid() async throws {
        let controlPlane = try await makeControlPlane()
        try await withAPI(controlPlane) { client in
            let bad = RegisterRequest(service: "web", address: "10.0.0.5", port: 0, protocol: "ftp")
            try await client.execute(uri: "/v1/instances", method: .post, headers: jsonHeaders, body: try jsonBody(bad)) { response async throws in
                let error = try apiError(response, .badRequest)
                #expect(error.errors.map(\.path) == ["port", "protocol"])
            }
            try await client.execute(uri: "/v1/instances", method: .post, headers: jsonHeaders, body: ByteBuffer(string: #"{"service": "web", "address": "x", "port": "80"}"#)) { response async throws in
                #expect(try apiError(response, .badRequest).message == "the body is not a valid RegisterRequest: port: expected Int")
            }
            try await client.execute(uri: "/v1/instances", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: "service=web")) { response async throws in
                #expect(try apiError(response, .unsupportedMediaType).code == "unsupported-media-type")
            }
            try await client.execute(uri: "/v1/instances/x/health", method: .post, headers: jsonHeaders, body: ByteBuffer(string: "[]")) { response async throws in
                #expect(try apiError(response, .badRequest).code == "invalid")
            }
        }
        #expect(await controlPlane.instances().items.isEmpty)
    }
}
