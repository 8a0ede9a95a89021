import Foundation
import Testing

/// `heddle demo`, the README's first command, runs a mesh and shows traffic through it.
@Suite
struct DemoTests {
    @Test func demoShowsTrafficSplitHeaderRouteAndAnError() async throws {
        let demo = try ChildProcess(name: "demo", executable: TestSupport.heddleBinary, arguments: ["demo", "--port", "0", "--admin-port", "0", "--requests", "20"])
        #expect(await demo.waitForExit(timeout: .seconds(60)) == 0, "\(demo.stdout)\(demo.stderr)")
        let output = demo.stdout
        #expect(output.contains("200 hello from hello-v1"))
        #expect(output.contains("2. A request with x-canary: always goes to v2 by header match:\n   200 hello from hello-v2"))
        #expect(output.contains("404 heddle-error: no-route"))
        #expect(output.contains("heddle_requests_total{listener=\"outbound\",route=\"hello#1\",backend=\"hello-v1\",status_class=\"2xx\"}"))
        #expect(output.contains("Demo done."))
    }
}
