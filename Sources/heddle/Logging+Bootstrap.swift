import ArgumentParser
import Logging

/// Installs the process's log backend: text lines on standard error (standard output is the
/// access log's), once.
enum LogSetup {
    nonisolated(unsafe) private static var done = false

    static func bootstrap(level: Logger.Level) -> Logger {
        if !done {
            done = true
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
        var logger = Logger(label: "heddle")
        logger.logLevel = level
        return logger
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
