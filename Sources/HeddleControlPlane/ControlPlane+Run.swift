extension ControlPlane {
    /// Runs what the control plane does on its own until the task is cancelled: pushes to the
    /// watches `settings.pushDelay` after a change (a burst of changes within it gives one
    /// push), lease sweeps, keep-alives, and with a shared store following the other control
    /// planes' writes. Call it once; a second call returns at once.
    public nonisolated func run() async {
        guard await claimRun() else { return }
        await withDiscardingTaskGroup { group in
            group.addTask { await self.pushOnChange() }
            group.addTask {
                await Self.every(self.settings.leaseSweepInterval) { await self.sweepLeases() }
            }
            group.addTask {
                await Self.every(self.settings.keepAliveInterval) { self.sendKeepAlives() }
            }
            if self.store.isShared {
                group.addTask { await self.followStore() }
                // Apart from following, whose round may hang on a store that does not answer.
                group.addTask {
                    await Self.every(self.settings.followInterval) { await self.checkStaleness() }
                }
            }
        }
    }

    private nonisolated func pushOnChange() async {
        for await _ in changes {
            do {
                try await Task.sleep(for: settings.pushDelay)
            } catch {
                return
            }
            await publish()
        }
    }

    private static func every(_ interval: Duration, _ work: @Sendable () async -> Void) async {
        while true {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            await work()
        }
    }
}
