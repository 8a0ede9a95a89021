import Hummingbird

/// The control plane's JSON HTTP API (`docs/api.md`): every route, behind the middleware that
/// turns errors into `APIError` bodies.
public enum ControlPlaneAPI {
    /// Request bodies larger than this are refused with 413 (4 MiB).
    public static let defaultMaxBodyBytes = 4 << 20

    /// The API of `controlPlane`; with `identity`, the workload identity routes too. `admin`
    /// decides who may change the mesh.
    public static func router(
        for controlPlane: ControlPlane, identity: WorkloadAuthority? = nil, admin: AdminAccess = AdminAccess(),
        maxBodyBytes: Int = defaultMaxBodyBytes
    ) -> Router<APIRequestContext> {
        let router = Router(context: APIRequestContext.self)
        // Middleware first: it wraps only the routes added after it.
        router.add(middleware: APIErrorMiddleware())
        HealthRoutes.add(to: router, controlPlane: controlPlane)
        ResourceRoutes.add(to: router, controlPlane: controlPlane, admin: admin, maxBodyBytes: maxBodyBytes)
        InstanceRoutes.add(to: router, controlPlane: controlPlane, maxBodyBytes: maxBodyBytes)
        DiscoveryRoutes.add(to: router, controlPlane: controlPlane, maxBodyBytes: maxBodyBytes)
        StatsRoutes.add(to: router, controlPlane: controlPlane, gatherer: MeshStatsGatherer())
        TapRoutes.add(to: router, controlPlane: controlPlane)
        ExplainRoutes.add(to: router, controlPlane: controlPlane)
        DashboardRoutes.add(to: router)
        if let identity {
            IdentityRoutes.add(to: router, authority: identity, admin: admin, maxBodyBytes: maxBodyBytes)
        }
        return router
    }
}
