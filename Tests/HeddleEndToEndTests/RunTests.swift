import Foundation
import Testing

/// `heddle run`: the app starts once its sidecar is configured, reaches the mesh through it,
/// and its exit ends both with the app's status.
@Suite
struct RunTests {
    static func run(_ cp: ControlPlaneProcess, service: String, appPort: Int, _ command: [String]) throws -> ChildProcess {
        try ChildProcess(
            name: "run-\(service)-\(UUID().uuidString.prefix(6))", executable: TestSupport.heddleBinary,
            arguments: [
                "run", "--control-plane", cp.url, "--service", service, "--app-port", String(appPort),
                "--outbound", "127.0.0.1:0", "--inbound", "127.0.0.1:0", "--admin", "127.0.0.1:0",
                "--snapshot", "\(TestSupport.scratchDirectory())/run-\(service)-\(UUID().uuidString.prefix(6)).yaml",
                "--lease-seconds", "2", "--drain-grace-period", "2",
                "--join-token", try joinToken(controlPlane: cp.url, service: service), "--",
            ] + command)
    }

    @Test func aShortJobCallsTheMeshOnItsFirstTryAndEndsWithItsSidecar() async throws {
        let cp = try await ControlPlaneProcess()
        let api = try await Upstream(.http, name: "api")
        _ = try await SidecarProcess(controlPlane: cp.url, service: "api", appPort: api.port)
        // The job's very first call goes through its sidecar (http_proxy) to api: the sidecar
        // had its configuration before the job started. The job listens on nothing, so it is
        // never registered.
        let job = try Self.run(cp, service: "report", appPort: 1, [
            "sh", "-c", #"curl -s --max-time 5 -w ' %{http_code}' http://api/hello; echo " proxy=$HEDDLE_OUTBOUND""#,
        ])
        #expect(await job.waitForExit(timeout: .seconds(30)) == 0, "\(job.stdout)\(job.stderr)")
        #expect(job.stdout.contains("api") && job.stdout.contains(" 200 proxy=127.0.0.1:"), "\(job.stdout)\(job.stderr)")
        #expect(job.stderr.contains("app exited") && job.stderr.contains("status=0"), "\(job.stderr)")
        let instances = try curl(["\(cp.url)/v1/instances?service=report"]).output
        #expect(!instances.contains("\"report\""), "a job that never listened is not registered: \(instances)")
    }

    @Test func theAppsExitStatusIsHeddleRunsAndAListeningAppIsRegisteredThenDeregistered() async throws {
        let cp = try await ControlPlaneProcess()
        #expect(await (try Self.run(cp, service: "failing-job", appPort: 1, ["sh", "-c", "exit 3"])).waitForExit(timeout: .seconds(30)) == 3)

        // A server app: registered once it listens; SIGTERM stops it, deregisters, exits 0.
        let port = try TestSupport.freePort()
        let server = try Self.run(cp, service: "web", appPort: port, ["python3", "-m", "http.server", String(port), "--bind", "127.0.0.1"])
        var registered = false
        for _ in 0..<200 where !registered {
            registered = try curl(["\(cp.url)/v1/instances?service=web"]).output.contains("\"healthy\"")
            if !registered { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(registered, "\(server.stderr)")
        server.signal(SIGTERM)
        let status = await server.waitForExit(timeout: .seconds(30))
        // python3's http.server ends with status 143 (128 + SIGTERM) when terminated.
        #expect(status == 143 || status == 0, "\(server.stderr)")
        #expect(server.stderr.contains("deregistered"), "\(server.stderr)")
        #expect(!(try curl(["\(cp.url)/v1/instances?service=web"]).output.contains("\"web\"")))
    }
}
