import HeddleAPI
import HeddleCore
import Yams

/// Writes what a proxy loads: every `Service` with its endpoints (those in its document, then
/// its healthy registered instances) and every `HTTPRoute`, as YAML documents a proxy reads
/// as it reads its file. Documents are re-serialised (comments dropped, layout normalised), so
/// the same state always gives the same text and an unchanged snapshot is not pushed again.
enum SnapshotBuilder {
    /// A service to write, with the instances to add to its endpoints.
    struct ServiceInput {
        var document: String
        var spec: ServiceSpec
        var instances: [RegisteredInstance]
    }

    /// One service's document, its endpoints filled in.
    static func service(_ name: String, _ input: ServiceInput, trustDomain: String) -> PushedResource {
        PushedResource(key: "Service/\(name)", document: terminated(render(input, trustDomain: trustDomain)))
    }

    /// A route's or policy's document, normalised.
    static func document(key: String, _ document: String) -> PushedResource {
        PushedResource(key: key, document: terminated(normalised(document)))
    }

    /// What a service's rendered document depends on: its own document and the instances
    /// added to its endpoints. Equal fingerprints render the same.
    struct Fingerprint: Hashable {
        struct Member: Hashable {
            var id: String
            var address: String
            var port: Int
            var weight: Int
            var labels: [String: String]
            var mutualTLS: Bool
            var `protocol`: String
        }

        var document: String
        var members: [Member]

        init(_ input: ServiceInput) {
            document = input.document
            members = input.instances.map {
                Member(id: $0.stored.id, address: $0.stored.address, port: $0.stored.port, weight: $0.stored.weight, labels: $0.stored.labels, mutualTLS: $0.stored.mutualTLS, protocol: $0.stored.protocol)
            }.sorted { $0.id < $1.id }
        }
    }

    private static func terminated(_ document: String) -> String {
        document.hasSuffix("\n") ? document : document + "\n"
    }

    private static func render(_ service: ServiceInput, trustDomain: String) -> String {
        guard var root = try? Yams.compose(yaml: service.document), case .mapping(let mapping) = root,
            case .mapping(var spec)? = mapping.first(where: { $0.key.string == "spec" })?.value
        else { return service.document }
        var endpoints: [Node] = []
        if case .sequence(let written)? = spec.first(where: { $0.key.string == "endpoints" })?.value {
            endpoints = Array(written)
        }
        // Registered instances are sidecars, reached on their inbound listener over HTTP/2 (the
        // mesh hop); a service declared `http1` (the default) is spoken to them as `http2`,
        // and they restore HTTP/1.1 for the app. `grpc` stays `grpc`.
        let spokenAsHTTP2 = !service.instances.isEmpty && service.spec.protocol == .http1 && service.instances.contains { $0.stored.protocol == "http2" }
        // Mutual TLS is for the mesh hop only (a `tcp` service's instances are not sidecars).
        let meshHop = spokenAsHTTP2 || service.spec.protocol == .http2 || service.spec.protocol == .grpc
        let written = Set(service.spec.endpoints.map(\.address))
        for instance in service.instances.sorted(by: { $0.stored.id < $1.stored.id }) where !written.contains(instance.address) {
            endpoints.append(endpoint(instance, trustDomain: meshHop ? trustDomain : nil))
        }
        var pairs = replacing("endpoints", with: .sequence(Node.Sequence(endpoints)), in: Array(spec))
        if spokenAsHTTP2 {
            pairs = replacing("protocol", with: Node("http2"), in: pairs.map { (key: $0.0, value: $0.1) })
        }
        spec = Node.Mapping(pairs, spec.tag, spec.style)
        root = .mapping(Node.Mapping(replacing("spec", with: .mapping(spec), in: Array(mapping)), mapping.tag, mapping.style))
        return (try? Yams.serialize(node: root)) ?? service.document
    }

    /// An instance reached over mutual TLS carries the identity its proxy must prove: the
    /// workload identity of the service it registered in.
    private static func endpoint(_ instance: RegisteredInstance, trustDomain: String?) -> Node {
        var pairs: [(Node, Node)] = [
            (Node("address"), quoted(instance.address.description)),
            (Node("weight"), Node(String(instance.stored.weight))),
        ]
        if instance.stored.mutualTLS, let trustDomain {
            pairs.append((Node("identity"), quoted("spiffe://\(trustDomain)/service/\(instance.stored.service)")))
        }
        if !instance.stored.labels.isEmpty {
            let labels = instance.stored.labels.sorted { $0.key < $1.key }.map { (quoted($0.key), quoted($0.value)) }
            pairs.append((Node("labels"), Node(labels)))
        }
        return Node(pairs)
    }

    private static func quoted(_ text: String) -> Node {
        Node(text, Tag(.str), .doubleQuoted)
    }

    /// `pairs` with the value of `key` replaced, or the pair added at the end.
    private static func replacing(_ key: String, with value: Node, in pairs: [(key: Node, value: Node)]) -> [(Node, Node)] {
        var result = pairs.map { ($0.key, $0.value) }
        if let index = result.firstIndex(where: { $0.0.string == key }) {
            result[index].1 = value
        } else {
            result.append((Node(key), value))
        }
        return result
    }

    private static func normalised(_ document: String) -> String {
        guard let root = try? Yams.compose(yaml: document), let text = try? Yams.serialize(node: root) else { return document }
        return text
    }
}
