import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Starts the app of `heddle run` with the default signal dispositions. This process ignores
/// SIGTERM and SIGINT (swift-service-lifecycle reads them from a dispatch source), and ignored
/// signals survive `exec`: an app started with Foundation's `Process` would never see them.
enum AppSpawn {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The app's pid; the command is looked up in `PATH`.
    static func spawn(_ command: [String], environment: [String: String]) throws -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let arguments = command.map { strdup($0) } + [nil]
        let variables = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in arguments { free(pointer) }
            for pointer in variables { free(pointer) }
        }
        var pid = pid_t()
        let result = posix_spawnp(&pid, command[0], nil, &attributes, arguments, variables)
        guard result == 0 else { throw Failure(description: "cannot start \(command[0]): \(String(cString: strerror(result)))") }
        return pid
    }

    /// Waits for `pid` to end (on a thread of its own, as `waitpid` blocks); its exit status,
    /// or 128 + the signal that ended it.
    static func exitStatus(of pid: pid_t) async -> Int32 {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0, errno == EINTR {}
                let signal = status & 0x7f
                continuation.resume(returning: signal == 0 ? (status >> 8) & 0xff : 128 + signal)
            }
            thread.start()
        }
    }
}
