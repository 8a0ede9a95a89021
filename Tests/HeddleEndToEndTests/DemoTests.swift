import Foundation
import Testing

/// `heddle demo`, the README's first command: a control plane, sample services with their
/// sidecars and a load generator in one process, with a live view and a failure absorbed.
/// One demo at a time, at a modest rate: a debug build's mesh at 50 requests/s (four hops
/// each) takes a core, and the rest of the suite runs beside it.
@Suite(.serialized)
struct DemoTests {
    @Test func demoRunsAMeshWithTrafficAbsorbsTheFailureAndExitsZero() async throws {
        let demo = try ChildProcess(name: "demo", executable: TestSupport.heddleBinary, arguments: ["demo", "--duration", "20", "--rate", "20", "--control-plane-port", "0"])
        #expect(await demo.waitForExit(timeout: .seconds(120)) == 0, "\(demo.stdout)\(demo.stderr)")
        let output = demo.stdout
        // The view: routes as callers see them, instances as their own sidecars do.
        #expect(output.contains("ROUTE  BACKEND   RPS   SHARE"), "\(output)")
        #expect(output.contains("  users  users-v2  "), "\(output)")
        #expect(output.contains("users-v1-b  users-v1") && output.contains("← failure injected"), "\(output)")
        #expect(output.contains("[7 s] users-v1-b's app starts answering 503"), "\(output)")

        // The summary: the load went through, the split held, and the failure was absorbed.
        let sent = try #require(Self.number(in: output, after: "the load generator sent "), "\(output)")
        let succeeded = try #require(Self.number(in: output, after: "requests to web; "), "\(output)")
        #expect(sent >= 150, "20 s at 20 requests/s: \(output)")
        #expect(Double(succeeded) >= Double(sent) * 0.95, "the mesh should absorb one failing instance: \(output)")
        let canary = try #require(output.range(of: #"users-v2 ([0-9.]+) %"#, options: .regularExpression).map { output[$0] }, "\(output)")
        let share = try #require(Double(canary.dropFirst("users-v2 ".count).dropLast(2)))
        #expect((3...20).contains(share), "a 10 % canary: \(canary)")
        let retried = try #require(Self.number(in: output, after: "the api sidecars retried "), "\(output)")
        #expect(retried > 0, "\(output)")
        #expect(output.contains("Stopped: the sidecars deregistered and drained"), "\(output)")
    }

    @Test func ctrlCStopsTheDemoCleanly() async throws {
        let demo = try ChildProcess(name: "demo-interrupted", executable: TestSupport.heddleBinary, arguments: ["demo", "--duration", "0", "--rate", "10", "--control-plane-port", "0", "--view", "plain"])
        _ = try await demo.waitForOutput(timeout: .seconds(60)) { $0.contains("The mesh carries traffic") }
        try await Task.sleep(for: .seconds(2))
        demo.signal(SIGINT)
        #expect(await demo.waitForExit(timeout: .seconds(30)) == 0, "\(demo.stdout)\(demo.stderr)")
        #expect(demo.stdout.contains("Summary of "), "\(demo.stdout)")
        #expect(demo.stdout.contains("(stopped before users-v1-b's failure, due at 20 s)"), "\(demo.stdout)")
        #expect(demo.stdout.contains("the control plane stopped, its temporary data was removed"), "\(demo.stdout)")
    }

    @Test func theDemoAppliesTheExampleFileAsItIs() async throws {
        let printed = try ChildProcess(name: "demo-resources", executable: TestSupport.heddleBinary, arguments: ["demo", "--print-resources"])
        #expect(await printed.waitForExit(timeout: .seconds(30)) == 0)
        let example = try String(contentsOfFile: "\(TestSupport.packageRoot)/examples/demo.yaml", encoding: .utf8)
        #expect(printed.stdout == example, "heddle demo applies other resources than examples/demo.yaml shows")
    }

    /// The integer right after `marker` in `text`.
    static func number(in text: String, after marker: String) -> Int? {
        guard let range = text.range(of: marker) else { return nil }
        return Int(text[range.upperBound...].prefix { $0.isNumber })
    }
}
