import HeddleAPI
import HeddleControlPlane
import Testing

/// `apply`: each document on its own, refused with its field errors or stored; unchanged
/// documents are not written; dry runs store nothing.
@Suite("ControlPlane apply")
struct ApplyTests {
    @Test("Valid documents are created, then updated, and an identical one is left unchanged without a write")
    func createUpdateUnchanged() async throws {
        let store = TestStore()
        let controlPlane = try await makeControlPlane(store: store)
        let first = try await controlPlane.apply(yaml: stream(serviceYAML("web"), routeYAML("shop", backends: ["web"])))
        #expect(first.items.map(\.action) == [.created, .created])
        #expect(first.items.map(\.kind) == ["Service", "HTTPRoute"])
        #expect(first.items.map(\.revision) == [1, 2])
        #expect(first.revision == 2)
        #expect(first.items.allSatisfy { $0.status == ResourceStatus(state: .accepted) })

        let second = try await controlPlane.apply(yaml: stream(serviceYAML("web", endpoints: ["10.0.0.9:80"]), routeYAML("shop", backends: ["web"])))
        #expect(second.items.map(\.action) == [.updated, .unchanged])
        #expect(second.items.map(\.revision) == [3, 2])
        #expect(store.writeCount == 3)

        let stored = try #require(try await store.resource(kind: "Service", name: "web"))
        #expect(stored.document == serviceYAML("web", endpoints: ["10.0.0.9:80"]))
        #expect(stored.createRevision == 1)
    }

    @Test("A mix: the invalid document is refused with its path, reason and line in the request; the others are stored")
    func mixedDocuments() async throws {
        let store = TestStore()
        let controlPlane = try await makeControlPlane(store: store)
        let invalid = """
            apiVersion: heddle.dev/v1alpha1
            kind: Service
            metadata:
              name: api
            spec:
              endpoints:
                - address: 10.0.0.2:80
                  weight: -3
            """
        let result = try await controlPlane.apply(yaml: stream(serviceYAML("web"), invalid, routeYAML("shop", backends: ["web"])))
        #expect(result.items.map(\.action) == [.created, .refused, .created])
        let refused = result.items[1]
        #expect(refused.document == 2)
        #expect(refused.kind == "Service")
        #expect(refused.name == "api")
        #expect(refused.revision == nil)
        // Document 2 starts on line 10 of the request (after 8 lines and a '---'); its weight on line 17.
        #expect(refused.errors == [FieldError(resource: "Service/api", path: "spec.endpoints[0].weight", reason: "must be between 0 and 1000000 (relative weight)", line: 17)])
        #expect(try await store.resources(kind: nil).map(\.name) == ["shop", "web"])
        #expect(try await controlPlane.list().items.count == 2)
    }

    @Test("When every document is refused, apply throws invalid with every field error and changes nothing")
    func allRefused() async throws {
        let store = TestStore()
        let controlPlane = try await makeControlPlane(store: store)
        let error = await controlPlaneError {
            _ = try await controlPlane.apply(yaml: stream("kind: Service\nmetadata: {name: a}", "apiVersion: heddle.dev/v1alpha1\nkind: Gadget\nmetadata: {name: b}\nspec: {}"))
        }
        #expect(error?.code == .invalid)
        #expect(error?.message == "all 2 documents were refused")
        #expect(error?.errors.map(\.resource) == ["Service/a", "Service/a", "Gadget/b"])
        #expect(error?.errors.first?.line == 1)
        #expect(error?.errors.last?.line == 5)
        #expect(store.writeCount == 0)
    }

    @Test("A document with no kind or name is called by its position")
    func unnamedDocument() async throws {
        let controlPlane = try await makeControlPlane()
        let result = try await controlPlane.apply(yaml: stream(serviceYAML("web"), "spec: {}"))
        #expect(result.items[1].action == .refused)
        #expect(result.items[1].errors.map(\.resource) == ["document 2"])
    }

    @Test("Broken YAML is refused with the parser's reason; an empty request is invalid")
    func brokenAndEmpty() async throws {
        let controlPlane = try await makeControlPlane()
        let result = try await controlPlane.apply(yaml: stream(serviceYAML("web"), "kind: [unclosed"))
        #expect(result.items[1].action == .refused)
        #expect(result.items[1].errors.first?.reason.hasPrefix("invalid YAML") == true)

        let empty = await controlPlaneError { _ = try await controlPlane.apply(yaml: "# nothing\n---\n") }
        #expect(empty?.code == .invalid)
        #expect(empty?.message == "the request holds no YAML document")
    }

    @Test("A Proxy document is refused: proxies are configured by their own file and flags")
    func proxyRefused() async throws {
        let controlPlane = try await makeControlPlane()
        let result = try await controlPlane.apply(yaml: stream(serviceYAML("web"), proxyYAML))
        #expect(result.items[1].action == .refused)
        let error = try #require(result.items[1].errors.first)
        #expect(error.resource == "Proxy/sidecar")
        #expect(error.path == "kind")
        #expect(error.line == 11)
        #expect(error.reason.contains("configured by its own file and flags"))
    }

    @Test("The same resource twice in one request: the second is refused")
    func duplicateInRequest() async throws {
        let controlPlane = try await makeControlPlane()
        let result = try await controlPlane.apply(yaml: stream(serviceYAML("web"), serviceYAML("web", endpoints: ["10.0.0.2:80"])))
        #expect(result.items.map(\.action) == [.created, .refused])
        #expect(result.items[1].errors.first?.reason == "Service/web is given twice in this request")
    }

    @Test("A dry run reports what would happen, with statuses and the previous document, and stores nothing")
    func dryRun() async throws {
        let store = TestStore()
        let controlPlane = try await makeControlPlane(store: store)
        _ = try await controlPlane.apply(yaml: serviceYAML("web"))
        let result = try await controlPlane.apply(yaml: stream(serviceYAML("web", endpoints: ["10.0.0.2:80"]), routeYAML("shop", backends: ["No_where"])), dryRun: true)
        #expect(result.dryRun)
        #expect(result.items.map(\.action) == [.updated, .created])
        #expect(result.items.map(\.revision) == [nil, nil])
        #expect(result.items[0].previous == serviceYAML("web"))
        #expect(result.items[1].status?.state == .refused)
        #expect(store.writeCount == 1)
        #expect(try await controlPlane.list().items.map(\.name) == ["web"])
    }

    @Test("A store failure is reported as unavailable and leaves the state as it was")
    func storeFailure() async throws {
        let store = TestStore()
        let controlPlane = try await makeControlPlane(store: store)
        store.failWrites(true)
        let error = await controlPlaneError { _ = try await controlPlane.apply(yaml: serviceYAML("web")) }
        #expect(error?.code == .unavailable)
        #expect(try await controlPlane.list().items.isEmpty)
        store.failWrites(false)
        #expect(try await controlPlane.apply(yaml: serviceYAML("web")).items.map(\.action) == [.created])
    }

    @Test("State is loaded from the store at start")
    func loadsFromStore() async throws {
        let store = TestStore()
        let first = try await makeControlPlane(store: store)
        _ = try await first.apply(yaml: stream(serviceYAML("web"), routeYAML("shop", backends: ["web"])))
        let second = try await makeControlPlane(store: store)
        #expect(await second.revision == 2)
        let listed = try await second.list()
        #expect(listed.items.map(\.name) == ["shop", "web"])
        #expect(listed.items.allSatisfy { $0.status.state == .accepted })
        #expect(try await second.apply(yaml: serviceYAML("web")).items.map(\.action) == [.unchanged])
    }
}
