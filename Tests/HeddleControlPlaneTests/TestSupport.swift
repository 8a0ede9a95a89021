import HeddleAPI
import HeddleControlPlane
import HeddleCore
import Logging
import Synchronization
import Testing

/// A clock the tests move by hand.
final class VirtualClock: Sendable {
    private let current = Mutex(Instant(nanoseconds: 1_000_000_000))

    var now: @Sendable () -> Instant {
        { self.current.withLock { $0 } }
    }

    func advance(_ duration: Duration) {
        current.withLock { $0 = $0.advanced(by: duration) }
    }
}

/// Settings for tests: short push delay, no sweeps or keep-alives unless a test drives them.
func testSettings(pushDelay: Duration = .milliseconds(50)) -> ControlPlaneSettings {
    var settings = ControlPlaneSettings()
    settings.pushDelay = pushDelay
    settings.leaseSweepInterval = .seconds(3600)
    settings.keepAliveInterval = .seconds(3600)
    return settings
}

func makeControlPlane(
    store: TestStore = TestStore(), clock: VirtualClock = VirtualClock(), settings: ControlPlaneSettings = testSettings()
) async throws -> ControlPlane {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return try await ControlPlane(store: store, settings: settings, logger: logger, now: clock.now)
}

/// Runs `body` while `controlPlane.run()` runs (pushes, sweeps, keep-alives).
func whileRunning<T: Sendable>(_ controlPlane: ControlPlane, _ body: () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await controlPlane.run() }
        defer { group.cancelAll() }
        return try await body()
    }
}

/// Waits until `condition` holds, checking every 10 ms for up to `timeout`. Generous: the
/// whole suite shares one process, where other suites' blocking waits can hold the two
/// threads of a 2-core machine's task pool for seconds.
func eventually(
    timeout: Duration = .seconds(30), _ what: String = "condition", sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("timed out waiting for \(what)", sourceLocation: sourceLocation)
    throw CancellationError()
}

/// Reads a watch in the background and keeps every push.
final class PushCollector: Sendable {
    private let pushes = Mutex<[ConfigPush]>([])

    var all: [ConfigPush] { pushes.withLock { $0 } }

    func collect(_ watch: ConfigWatch) async {
        for await push in watch {
            pushes.withLock { $0.append(push) }
        }
    }
}

/// A `Service` document.
func serviceYAML(_ name: String, endpoints: [String] = ["10.0.0.1:8080"], protocol proto: String = "http1") -> String {
    let list = endpoints.isEmpty ? " []" : "\n" + endpoints.map { "    - address: \($0)" }.joined(separator: "\n")
    return """
        apiVersion: heddle.dev/v1alpha1
        kind: Service
        metadata:
          name: \(name)
        spec:
          protocol: \(proto)
          endpoints:\(list)
        """
}

/// An `HTTPRoute` document sending everything for `host` to `backends`.
func routeYAML(_ name: String, host: String? = nil, backends: [String], parentRefs: [String] = []) -> String {
    var text = """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          name: \(name)
        spec:

        """
    if !parentRefs.isEmpty {
        text += "  parentRefs:\n" + parentRefs.map { "    - name: \($0)\n" }.joined()
    }
    text += "  hostnames: [\(host ?? name)]\n"
    text += "  rules:\n    - backendRefs:\n" + backends.map { "        - name: \($0)\n" }.joined()
    return text
}

/// Documents joined into one YAML stream.
func stream(_ documents: String...) -> String {
    documents.joined(separator: "\n---\n")
}

/// A `Proxy` document, as a proxy adds to what it is pushed.
let proxyYAML = """
    apiVersion: heddle.dev/v1alpha1
    kind: Proxy
    metadata:
      name: sidecar
    spec:
      outbound:
        address: 127.0.0.1:0
      gateways:
        - name: edge
          address: 127.0.0.1:0
    """

/// The error `body` throws, as a `ControlPlaneError`; records an issue when it throws none.
func controlPlaneError(sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async -> ControlPlaneError? {
    do {
        try await body()
        Issue.record("expected a ControlPlaneError", sourceLocation: sourceLocation)
        return nil
    } catch let error as ControlPlaneError {
        return error
    } catch {
        Issue.record("expected a ControlPlaneError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
