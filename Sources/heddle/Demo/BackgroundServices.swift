import Logging
import ServiceLifecycle

/// Services run in their own group in the background, stopped on request: the demo's control
/// plane and sample apps, which must outlive the sidecars that use them.
final class BackgroundServices: Sendable {
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    init(_ services: [any Service], logger: Logger) {
        let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) }, logger: logger))
        self.group = group
        task = Task { try await group.run() }
    }

    /// Shuts the services down gracefully and waits for them.
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    /// The error that ended the group, once it has ended by itself.
    func failure() async -> (any Error)? {
        do {
            try await task.value
            return nil
        } catch {
            return error
        }
    }
}
