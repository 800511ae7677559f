#if canImport(Glibc)
import Glibc
#endif

/// Lines for people on stderr (stdout carries results: summaries, verdicts, the access log).
enum Output {
    static func error(_ message: String) {
        var line = message.replacingNewlines() + "\n"
        line.withUTF8 { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}
