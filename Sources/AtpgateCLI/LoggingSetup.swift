import Logging

/// Diagnostics go through swift-log on stderr; the access log is separate (JSON lines on stdout).
enum LoggingSetup {
    static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
