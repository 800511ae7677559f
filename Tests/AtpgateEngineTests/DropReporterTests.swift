import Testing
import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import AtpgateEngine

/// Issue 8, finding 9: dropped access-log lines are reported, at most once per interval, and in total at shutdown.
@Suite("Dropped access-log lines are reported")
struct DropReporterTests {
    @Test("a stalled stdout: one warning soon after the first drop, at most one per interval, the total at stop")
    func warnsWhileDropping() throws {
        signal(SIGPIPE, SIG_IGN)
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let writer = LineWriter(fd: fds[1], maxBufferedBytes: 2048)
        let log = CapturedLog()
        let interval = 0.6
        let reporter = DropReporter(writer: writer, logger: log.logger, interval: interval)
        reporter.start()
        let line = String(repeating: "a", count: 99) + "\n"
        let start = Date()
        // Keep dropping for 2 s: 500 KB into a 64 KiB pipe that nobody reads.
        while Date().timeIntervalSince(start) < 2 {
            for _ in 0..<200 { writer.write(line) }
            usleep(10_000)
        }
        let warnings = log.messages.value.filter { $0.contains("dropped since the last report") }
        #expect(writer.dropped > 0)
        #expect(warnings.count >= 1)
        // 2 s of dropping at one warning per 0.6 s: at most 4 (the first comes at once).
        #expect(warnings.count <= Int(2 / interval) + 1, "\(warnings)")
        reporter.stop()
        #expect(log.messages.value.last?.contains("\(writer.dropped) lines dropped in total") == true,
                "\(log.messages.value.last ?? "")")
        close(fds[0])
        writer.stop()
        close(fds[1])
    }

    @Test("nothing dropped: no warning, not even at stop")
    func quietWhenNothingDrops() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let writer = LineWriter(fd: fds[1])
        let log = CapturedLog()
        let reporter = DropReporter(writer: writer, logger: log.logger, interval: 0.2)
        reporter.start()
        writer.write("one line\n")
        usleep(300_000)
        reporter.stop()
        #expect(log.messages.value.isEmpty)
        writer.stop()
        close(fds[0]); close(fds[1])
    }
}
