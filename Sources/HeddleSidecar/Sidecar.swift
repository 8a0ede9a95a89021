import Foundation
import HeddleAPI
import HeddleCore
import HeddlePolicy
import HeddleProxy
import Logging
import NIOCore
import ServiceLifecycle

/// A proxy in sidecar mode: registers its instance with the control plane and keeps the lease
/// by heartbeat, follows the watch stream of configuration pushes, applies each valid one to
/// the running proxy (and keeps it on disk), and acknowledges or rejects each version.
///
/// Static stability: nothing here stops the proxy from serving. When the control plane cannot
/// be reached — at start or later — the proxy keeps its last good configuration (from disk at
/// start) indefinitely, and the sidecar reconnects with backoff.
public final class Sidecar: Service, Sendable {
    private let options: SidecarOptions
    private let server: ProxyServer
    private let client: ControlPlaneClient
    private let logger: Logger
    private let state = SidecarState()
    private let identity: WorkloadIdentityKeeper
    /// What the proxy started from (`Sidecar.start`).
    private let start: Start

    /// What a sidecar's proxy starts serving: its own resource and the last configuration kept
    /// on disk, read and judged once for both the proxy and the watch that resumes from it.
    public struct Start: Sendable {
        /// The proxy's configuration at start.
        public let config: MeshConfig
        /// The kept file, when there is one (its documents in `config` only if `keptIsValid`).
        let kept: SnapshotFile.Kept?
        let keptIsValid: Bool
    }

    public init(options: SidecarOptions, start: Start, server: ProxyServer, client: ControlPlaneClient, logger: Logger) {
        self.start = start
        self.options = options
        self.server = server
        self.client = client
        self.logger = logger
        identity = WorkloadIdentityKeeper(
            directory: options.identityPath, joinToken: options.joinToken, client: client,
            metrics: server.metrics.registry, meshTLS: server.meshTLS, trustRefreshInterval: options.trustRefreshInterval, logger: logger)
        identity.installKept()
    }

    /// Why the sidecar cannot start as asked, or nil: an inbound listener that requires mutual
    /// TLS needs a way to a workload identity.
    public static func identityProblem(_ options: SidecarOptions) -> String? {
        guard options.inboundTLS != .disabled, options.joinToken == nil, !WorkloadIdentityKeeper.keepsCertificate(in: options.identityPath) else { return nil }
        return "the inbound listener requires mutual TLS (--inbound-tls \(options.inboundTLS.rawValue)), and the proxy has no way to a workload identity: give a join token (--join-token or HEDDLE_JOIN_TOKEN; `heddle token create --service \(options.service)` makes one), or --inbound-tls disabled for a plaintext mesh hop"
    }

    /// The configuration to start with: the proxy's own resource and the last pushed
    /// configuration kept on disk, if any (else no services until the first push). Throws when
    /// the proxy's own resource is refused.
    public static func start(_ options: SidecarOptions, logger: Logger) throws -> Start {
        let kept = SnapshotFile.read(options.snapshotPath)
        if let kept {
            do {
                let config = try MeshConfig.load(yaml: options.proxyDocument + "\n---\n" + kept.yaml)
                logger.notice("serving the last configuration kept on disk until the control plane answers", metadata: ["version": "\(kept.version)", "path": "\(options.snapshotPath)"])
                return Start(config: config, kept: kept, keptIsValid: true)
            } catch {
                logger.warning("the configuration kept on disk is not valid; starting without it", metadata: ["path": "\(options.snapshotPath)", "error": "\(error)"])
            }
        }
        return Start(config: try MeshConfig.load(yaml: options.proxyDocument), kept: kept, keptIsValid: false)
    }

    public func run() async throws {
        if let kept = start.kept {
            await state.setConfigured()
            // What the last run learned its app calls is in the watch from the start.
            if let learner = server.learner, let calls = kept.calls { learner.adopt(calls) }
            // What the proxy serves now (`start` loaded it), so the watch resumes from it.
            if let push = kept.push, start.keptIsValid {
                await state.setHeld(push)
                await state.setApplied(push.version)
                await state.setAccepted(push)
            }
        }
        // Registration needs the inbound listener's port, known once the proxy has bound it.
        for _ in 0..<500 where server.boundAddresses["inbound"] == nil {
            try? await Task.sleep(for: .milliseconds(20))
        }
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.keepRegistered() }
                group.addTask { await self.keepWatching() }
                if let learner = self.server.learner {
                    group.addTask { await self.keepLearning(learner) }
                    if let forgetAfter = learner.forgetAfterNanos {
                        let interval = Duration.nanoseconds(Int64(min(max(forgetAfter / 4, 1_000_000_000), 60_000_000_000)))
                        group.addTask { await self.keepSweeping(learner, every: interval) }
                    }
                }
                group.addTask { await self.keepCheckingApp() }
                group.addTask { await self.identity.run() }
            }
        }
        if let id = await state.instanceID {
            do {
                try await client.deregister(id)
                logger.notice("deregistered", metadata: ["instance": "\(id)"])
            } catch {
                logger.notice("could not deregister; the control plane removes the instance when its lease runs out", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Waits until the proxy runs a configuration from the control plane (pushed now, or kept
    /// on disk from an earlier push) and, when it is to have a workload identity (a join token
    /// or a kept certificate), holds its certificate, so the app's first call to a mesh peer
    /// can be made; false when `timeout` passed first.
    public func waitUntilConfigured(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await isReadyForApp { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return await isReadyForApp
    }

    private var isReadyForApp: Bool {
        get async {
            let expectsIdentity = options.joinToken != nil || WorkloadIdentityKeeper.keepsCertificate(in: options.identityPath)
            return await state.isConfigured && (!expectsIdentity || server.meshTLS?.identity != nil)
        }
    }

    /// The proxy's id on the watch stream and in acknowledgements.
    private var proxyID: String {
        let port = server.boundAddresses["inbound"]?.port ?? options.inbound.port
        return "\(options.service)@\(options.registeredHost):\(port)"
    }

    // MARK: Registration

    private func keepRegistered() async {
        var backoff = Backoff()
        while !Task.isCancelled {
            if let id = await state.instanceID {
                do {
                    if try await client.heartbeat(id) {
                        backoff.reset()
                        await state.setReachable(true, logger: logger, what: "heartbeat")
                    } else {
                        logger.notice("the control plane no longer knows this instance; registering again", metadata: ["instance": "\(id)"])
                        await state.setInstanceID(nil)
                        continue
                    }
                } catch {
                    await state.setReachable(false, logger: logger, what: "\(error)")
                }
                try? await Task.sleep(for: .milliseconds(max(200, options.leaseSeconds * 1000 / 3)))
                continue
            }
            // Traffic only once the app listens: an instance registered before would be sent
            // requests its app refuses.
            if options.waitForApp {
                await waitForApp()
                if Task.isCancelled { return }
            }
            // With mutual TLS on the inbound listener, callers are told to check this
            // instance's identity: it registers once it has a certificate to prove it with.
            if options.inboundTLS != .disabled {
                await waitForIdentity()
                if Task.isCancelled { return }
            }
            let port = server.boundAddresses["inbound"]?.port ?? options.inbound.port
            let request = RegisterRequest(
                service: options.service, address: options.registeredHost, port: port,
                protocol: options.appProtocol == .grpc ? "grpc" : "http2",
                labels: options.labels, weight: options.weight, leaseSeconds: options.leaseSeconds,
                mutualTLS: options.inboundTLS != .disabled,
                adminAddress: server.boundAddresses["admin"]?.port.map { "\(options.registeredAdminHost):\($0)" })
            do {
                let instance = try await client.register(request)
                await state.setInstanceID(instance.id)
                backoff.reset()
                logger.notice("registered", metadata: ["instance": "\(instance.id)", "service": "\(options.service)", "address": "\(options.registeredHost):\(port)"])
            } catch {
                await state.setReachable(false, logger: logger, what: "\(error)")
                try? await Task.sleep(for: backoff.next())
            }
        }
    }

    /// Returns once the proxy has a workload certificate for mutual TLS (or the task is cancelled).
    private func waitForIdentity() async {
        var waited = 0
        while !Task.isCancelled, server.meshTLS?.identity == nil {
            if waited == 100 {
                logger.notice("waiting for the workload certificate before registering (the inbound listener requires mutual TLS)")
            }
            waited += 1
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Returns once the app accepts a TCP connection on its port (or the task is cancelled).
    private func waitForApp() async {
        var waited = 0
        while !Task.isCancelled {
            if await AppProbe.accepts(host: options.appHost, port: options.appPort) { return }
            if waited == 25 {
                logger.notice("waiting for the app to listen before registering", metadata: ["app": "\(options.appHost):\(options.appPort)"])
            }
            waited += 1
            try? await Task.sleep(for: .milliseconds(waited < 50 ? 20 : 200))
        }
    }

    // MARK: The app's health

    /// Checks the app every `appHealthInterval` and reports a change of its standing to the
    /// control plane (which registered it healthy), so an app that stops answering while its
    /// sidecar lives stops getting traffic.
    private func keepCheckingApp() async {
        var standing = HealthCheckState()
        // What the control plane holds for which registration.
        var reported: (id: String, healthy: Bool)?
        while !Task.isCancelled {
            try? await Task.sleep(for: options.appHealthInterval)
            guard let id = await state.instanceID, !Task.isCancelled else { continue }
            if reported?.id != id { reported = (id, true) }
            switch await AppProbe.passes(options) ? standing.recordSuccess() : standing.recordFailure() {
            case .becameUnhealthy?:
                logger.warning("the app fails its health check; reporting the instance unhealthy", metadata: ["app": "\(options.appHost):\(options.appPort)", "check": "\(options.appHealthPath ?? "tcp")"])
            case .becameHealthy?:
                logger.notice("the app passes its health check again; reporting the instance healthy")
            case nil:
                break
            }
            guard reported?.healthy != standing.isHealthy else { continue }
            do {
                _ = try await client.reportHealth(id, healthy: standing.isHealthy)
                reported = (id, standing.isHealthy)
            } catch {
                // Sent again at the next check.
                await state.setReachable(false, logger: logger, what: "\(error)")
            }
        }
    }

    // MARK: Configuration pushes

    private func keepWatching() async {
        var backoff = Backoff()
        while !Task.isCancelled {
            do {
                // Resumed from the whole configuration last received (from this control plane or
                // another, or kept on disk): when nothing changed, nothing is sent again.
                let held = await state.held
                let stream = try await client.watch(proxy: proxyID, service: options.service, calls: watchCalls, resume: held.map(WatchResume.init))
                await state.setReachable(true, logger: logger, what: "watch")
                // The stream's first push is whole (or, resumed, a delta from what the proxy
                // holds), each later one a delta from the one before.
                var current = held
                var resync = false
                for try await push in stream {
                    backoff.reset()
                    guard let whole = push.applied(to: current) else {
                        logger.warning(
                            "a configuration delta does not apply to the version this proxy has; reconnecting for a whole configuration",
                            metadata: ["delta_base": "\(push.baseVersion ?? -1)", "have": "\(current?.version ?? -1)"])
                        await state.setHeld(nil)
                        resync = true
                        break
                    }
                    // An empty delta (a watch resumed from what is current), or a whole
                    // configuration that reads the same as the one in force: nothing to load.
                    // A delta at the same version is a change all the same (learned calls).
                    let unchanged = push.changesNothing || (!push.isDelta && current.map { $0.digest == whole.digest } == true)
                    if unchanged, let current, await state.isApplied(current.version) {
                        if push.changesNothing {
                            logger.info("watch resumed; the configuration held is current", metadata: ["held_version": "\(current.version)", "version": "\(whole.version)"])
                        }
                        await state.setApplied(whole.version)
                        await state.setHeld(whole)
                        await state.setAccepted(whole)
                        await acknowledge(PushAck(version: whole.version, accepted: true))
                    } else {
                        await state.setHeld(whole)
                        await apply(whole)
                    }
                    current = whole
                }
                if resync { continue }
                logger.info("the watch stream ended; reconnecting")
            } catch {
                if Task.isCancelled { return }
                await state.setReachable(false, logger: logger, what: "\(error)")
            }
            try? await Task.sleep(for: backoff.next())
        }
    }

    /// The services the watch names: declared and learned; nil for the whole mesh.
    private var watchCalls: [String]? {
        server.learner?.calls ?? options.calls
    }

    // MARK: On-demand discovery

    /// Asks the control plane for the services the app calls that the proxy has no route for,
    /// as the learner queues them; the watch brings their configuration. A name the control
    /// plane does not know is reported so, and requests for it fail at once for a while. The
    /// names the learner forgot leave the watch, in the same order.
    private func keepLearning(_ learner: CallLearner) async {
        while let work = await learner.next() {
            switch work {
            case .ask(let names): await ask(learner, for: names)
            case .forget(let names): await forget(names)
            }
        }
    }

    private func ask(_ learner: CallLearner, for names: [String]) async {
        var answer: CallsResult?
        var lastError = ""
        // The watch may be reconnecting (a new control plane): a few quick tries.
        for attempt in 0..<5 where answer == nil {
            if attempt > 0 { try? await Task.sleep(for: .milliseconds(100 << attempt)) }
            do {
                answer = try await client.learnCalls(proxy: proxyID, names)
            } catch {
                lastError = "\(error)"
            }
        }
        let now = NIODeadline.now().uptimeNanoseconds
        guard let answer else {
            logger.warning("could not ask the control plane for the services the app calls", metadata: ["services": "\(names)", "error": "\(lastError)"])
            learner.failed(names, reason: lastError)
            return
        }
        if !answer.known.isEmpty {
            logger.info("learned services the app calls", metadata: ["services": "\(answer.known)"])
        }
        if !answer.unknown.isEmpty {
            logger.info("the app calls services the mesh does not have", metadata: ["services": "\(answer.unknown)"])
        }
        learner.answered(known: answer.known, unknown: answer.unknown, now: now)
        // The learned names go into the file too (the push may have been kept before the
        // answer came), so the next start watches them from the beginning.
        if !answer.known.isEmpty { await keepCalls() }
    }

    /// Takes `names` out of the watch. When the control plane cannot be told, the watch is
    /// narrowed all the same at its next connection (it names the learner's calls).
    private func forget(_ names: [String]) async {
        do {
            _ = try await client.forgetCalls(proxy: proxyID, names)
            logger.info("forgot services the app no longer calls", metadata: ["services": "\(names)"])
        } catch {
            logger.info("could not tell the control plane of services the app no longer calls; the next watch leaves them out", metadata: ["services": "\(names)", "error": "\(error)"])
        }
        await keepCalls()
    }

    /// Writes the configuration accepted last to disk, with the watch's calls as they are
    /// now. On the state actor: a push applied and a name learned at the same moment cannot
    /// leave the file with the older of either.
    private func keepCalls() async {
        do {
            try await state.keepAccepted(to: options.snapshotPath) { self.watchCalls }
        } catch {
            logger.warning("could not keep the configuration on disk", metadata: ["path": "\(options.snapshotPath)", "error": "\(error)"])
        }
    }

    /// Every so often, tells the learner which learned services requests used, so that it
    /// forgets those unused for its `forgetAfter` (a quarter of it, between 1 s and a minute).
    private func keepSweeping(_ learner: CallLearner, every interval: Duration) async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            let names = learner.forgettable
            guard !names.isEmpty else { continue }
            let used = await server.namesUsed(names)
            learner.sweep(used: used, now: NIODeadline.now().uptimeNanoseconds)
        }
    }

    /// Loads a whole configuration with the proxy's own resource; a valid one goes into force,
    /// is kept on disk and acknowledged; an invalid one is rejected with its reasons, and the proxy stays
    /// on its last good configuration.
    func apply(_ push: ConfigPush) async {
        let ack: PushAck
        do {
            let config = try MeshConfig.load(yaml: options.proxyDocument + "\n---\n" + push.yaml)
            await server.apply(config)
            await state.setAccepted(push)
            await keepCalls()
            await state.setApplied(push.version)
            await state.setConfigured()
            logger.info("configuration applied", metadata: ["version": "\(push.version)"])
            ack = PushAck(version: push.version, accepted: true)
        } catch {
            server.recordRefusedConfig()
            logger.warning("configuration push rejected; keeping the last good one", metadata: ["version": "\(push.version)", "errors": "\(error)"])
            ack = PushAck(version: push.version, accepted: false, errors: error.errors.map {
                FieldError(resource: $0.resource ?? "", path: $0.path, reason: $0.reason, line: $0.line)
            })
        }
        await acknowledge(ack)
    }

    private func acknowledge(_ ack: PushAck) async {
        do {
            try await client.ack(proxy: proxyID, ack)
        } catch {
            logger.info("could not acknowledge a push", metadata: ["version": "\(ack.version)", "error": "\(error)"])
        }
    }
}

/// What the sidecar's two loops share.
actor SidecarState {
    private(set) var instanceID: String?
    private var appliedVersion: Int64 = -1
    private var reachable: Bool?
    /// True once the proxy runs a configuration from the control plane.
    private(set) var isConfigured = false

    func setConfigured() {
        isConfigured = true
    }

    func setInstanceID(_ id: String?) {
        instanceID = id
    }

    func isApplied(_ version: Int64) -> Bool {
        version == appliedVersion
    }

    /// The whole configuration last received from the control plane (or kept on disk), which
    /// the watch resumes from.
    private(set) var held: ConfigPush?

    func setHeld(_ push: ConfigPush?) {
        held = push
    }

    /// The whole configuration last accepted (the one kept on disk).
    private(set) var accepted: ConfigPush?

    func setAccepted(_ push: ConfigPush) {
        accepted = push
    }

    /// Writes the configuration accepted last, with `calls()` read at the moment of writing.
    func keepAccepted(to path: String, calls: () -> [String]?) throws {
        guard let accepted else { return }
        try SnapshotFile.write(accepted, calls: calls(), to: path)
    }

    func setApplied(_ version: Int64) {
        appliedVersion = version
    }

    /// Logs only changes of reachability, so a control plane that is down for an hour does
    /// not fill the log.
    func setReachable(_ now: Bool, logger: Logger, what: String) {
        guard now != reachable else { return }
        reachable = now
        if now {
            logger.notice("control plane reachable")
        } else {
            logger.warning("control plane unreachable; serving the last good configuration and retrying", metadata: ["error": "\(what)"])
        }
    }
}

/// Exponential backoff with jitter for reconnecting: 100 ms doubling to 5 s.
struct Backoff {
    private var attempt = 0

    mutating func next() -> Duration {
        let ceiling = min(5_000, 100 << min(attempt, 6))
        attempt += 1
        return .milliseconds(Int.random(in: ceiling / 2...ceiling))
    }

    mutating func reset() {
        attempt = 0
    }
}
