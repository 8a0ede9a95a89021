import ServiceLifecycle

/// Runs a `ControlPlane`'s own work (pushes, lease sweeps, keep-alives) as a `Service`; on
/// graceful shutdown it closes the watch streams first, so the HTTP server can drain.
public struct ControlPlaneService: Service {
    public let controlPlane: ControlPlane

    public init(_ controlPlane: ControlPlane) {
        self.controlPlane = controlPlane
    }

    public func run() async throws {
        let controlPlane = self.controlPlane
        await withGracefulShutdownHandler {
            await cancelWhenGracefulShutdown {
                await controlPlane.run()
            }
        } onGracefulShutdown: {
            controlPlane.closeWatches()
        }
    }
}
