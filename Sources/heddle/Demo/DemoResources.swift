/// The resources `heddle demo` applies: the same text as `examples/demo.yaml` (a test keeps
/// them equal), so what the demo runs is what a user can read and apply.
enum DemoResources {
    static let yaml = """
        # The resources `heddle demo` applies to its control plane. Its services' endpoints come from
        # the registry: every instance's sidecar registers itself.
        #
        #   loadgen → web → api → users: users-v1 (two instances) 90 %, users-v2 (the canary) 10 %
        #
        # While the demo runs (`heddle demo --duration 0`), change the split and watch it shift:
        #   sed 's/weight: 90/weight: 50/; s/weight: 10/weight: 50/' examples/demo.yaml | heddle apply -f -
        #
        # Every hop is mutual TLS; the users services take calls from api only (try it from web's
        # sidecar: 403, heddle-error: denied-by-policy).
        apiVersion: heddle.dev/v1alpha1
        kind: Service
        metadata:
          name: users-v1
        spec:
          endpoints: []
          outlierDetection:
            consecutiveFailures: 3
            baseEjectionTime: 5s
        ---
        apiVersion: heddle.dev/v1alpha1
        kind: Service
        metadata:
          name: users-v2
        spec:
          endpoints: []
          outlierDetection:
            consecutiveFailures: 3
            baseEjectionTime: 5s
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          name: users
        spec:
          hostnames: [users]
          rules:
            - backendRefs:
                - name: users-v1
                  weight: 90
                - name: users-v2
                  weight: 10
              timeouts:
                request: 2s
              retry:
                attempts: 3
                codes: [502, 503]
        ---
        apiVersion: heddle.dev/v1alpha1
        kind: AuthorizationPolicy
        metadata:
          name: users-v1-from-api
        spec:
          targetService: users-v1
          rules:
            - from:
                services: [api]
        ---
        apiVersion: heddle.dev/v1alpha1
        kind: AuthorizationPolicy
        metadata:
          name: users-v2-from-api
        spec:
          targetService: users-v2
          rules:
            - from:
                services: [api]
        """
}
