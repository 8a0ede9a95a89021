import HeddleCore
import Testing

/// The errors `body` throws, or none when it succeeds.
func configErrors(_ body: () throws(ConfigErrors) -> Void) -> [ConfigError] {
    do {
        try body()
        return []
    } catch {
        return error.errors
    }
}

/// The errors `ResourceDecoder` reports for `yaml` (per-resource checks only).
func decodeErrors(_ yaml: String) -> [ConfigError] {
    configErrors { () throws(ConfigErrors) in _ = try ResourceDecoder.decode(yaml: yaml) }
}

/// The errors `MeshConfig.load` reports for `yaml` (per-resource and cross-resource checks).
func loadErrors(_ yaml: String) -> [ConfigError] {
    configErrors { () throws(ConfigErrors) in _ = try MeshConfig.load(yaml: yaml) }
}

/// The single error reported at `path`; records an issue (and throws) when there is none or
/// more than one.
func error(
    at path: String, in errors: [ConfigError], sourceLocation: SourceLocation = #_sourceLocation
) throws -> ConfigError {
    let found = errors.filter { $0.path == path }
    try #require(
        found.count == 1,
        "expected one error at \(path), got: \(errors.map(\.description))",
        sourceLocation: sourceLocation)
    return found[0]
}

/// A `Service` document named `name` with one endpoint.
func serviceYAML(_ name: String, address: String = "10.0.0.1:8080", protocol proto: String = "http1") -> String {
    """
    apiVersion: heddle.dev/v1alpha1
    kind: Service
    metadata:
      name: \(name)
    spec:
      protocol: \(proto)
      endpoints:
        - address: \(address)
    """
}

/// An `HTTPRoute` document named `name` whose `spec` is `spec` (YAML indented by two spaces).
func routeYAML(_ name: String, spec: String) -> String {
    """
    apiVersion: heddle.dev/v1alpha1
    kind: HTTPRoute
    metadata:
      name: \(name)
    spec:
    \(spec)
    """
}

/// Documents joined as one multi-document YAML stream.
func documents(_ parts: String...) -> String {
    parts.joined(separator: "\n---\n") + "\n"
}
