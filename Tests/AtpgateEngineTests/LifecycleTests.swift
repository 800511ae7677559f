import Testing
import Foundation
@testable import AtpgateEngine
import AtpgateIO
#if canImport(Glibc)
import Glibc
#endif

/// The `atpgate` binary under a service manager: sd_notify datagrams read from a socket the test bound,
/// and the access-log file across a logrotate-style rename and SIGUSR1.
@Suite("process lifecycle", .serialized)
struct LifecycleTests {
    @Test("sd_notify: READY=1 when listening; RELOADING=1 with MONOTONIC_USEC then READY=1 around SIGHUP, a file change and a failed reload; STOPPING=1 on SIGTERM")
    func systemdNotifications() throws {
        let notify = try NotifySocket()
        let directory = try TemporaryDirectory()
        let policy = try directory.write("life.yaml", loopbackPolicy(allow: []))
        let child = try ChildProxy(arguments: ["run", "--policy", policy, "--listen", "127.0.0.1:0"],
                                   environment: ["NOTIFY_SOCKET": notify.path])
        #expect(notify.receive() == "READY=1")
        waitForSignalHandlers(child)
        #expect(child.diagnostics.value.contains("SIGUSR1: the access log goes to stdout; nothing to reopen"))

        kill(child.process.processIdentifier, SIGHUP)
        try expectReloadPair(notify)
        #expect(child.diagnostics.value.contains("policy reloaded (SIGHUP)"))

        try loopbackPolicy(allow: ["a.test"]).write(toFile: policy, atomically: false, encoding: .utf8)
        try expectReloadPair(notify)
        #expect(eventually { child.diagnostics.value.contains("policy reloaded (file change)") })

        // A broken edit: the old policy stays in force, so the service is ready again all the same.
        try "version: 1\nalow: []\n".write(toFile: policy, atomically: false, encoding: .utf8)
        try expectReloadPair(notify)
        #expect(eventually { child.diagnostics.value.contains("policy reload failed") })

        #expect(child.terminate() == 0)
        #expect(notify.receive() == "STOPPING=1")
        #expect(notify.receive(timeout: 0) == nil, "nothing after STOPPING=1")
    }

    @Test("a NOTIFY_SOCKET that names no socket address is a warning, and the proxy serves")
    func unusableNotifySocket() throws {
        let directory = try TemporaryDirectory()
        let policy = try directory.write("life.yaml", loopbackPolicy(allow: []))
        let child = try ChildProxy(arguments: ["run", "--policy", policy, "--listen", "127.0.0.1:0"],
                                   environment: ["NOTIFY_SOCKET": "relative/notify.sock"])
        #expect(child.diagnostics.value.contains("NOTIFY_SOCKET=relative/notify.sock is not an absolute path"))
        #expect(child.terminate() == 0)
    }

    @Test("log.access: lines go to the file; after a rename and SIGUSR1 they go to a new file at the path, none lost")
    func accessLogReopenedOnSIGUSR1() throws {
        let directory = try TemporaryDirectory()
        let log = directory.file("access.log")
        let policy = try directory.write("log.yaml", loopbackPolicy(allow: [], extra: "log: {access: \"\(log)\"}\n"))
        let child = try ChildProxy(arguments: ["run", "--policy", policy, "--listen", "127.0.0.1:0"])

        _ = try curl(proxyPort: child.port, ["http://first.test/"])
        #expect(eventually { lines(log).count == 1 })
        // Reopening the file not yet renamed changes nothing; it tells when SIGUSR1 is handled.
        waitForSignalHandlers(child)
        #expect(child.diagnostics.value.contains("SIGUSR1: access log reopened \(log)"))

        #expect(rename(log, log + ".1") == 0)   // logrotate's rename; atpgate still writes to the renamed file
        let reopened = child.diagnostics.value.occurrences(of: "access log reopened")
        kill(child.process.processIdentifier, SIGUSR1)
        #expect(eventually { child.diagnostics.value.occurrences(of: "access log reopened") == reopened + 1 })
        _ = try curl(proxyPort: child.port, ["http://second.test/"])
        #expect(eventually { lines(log).count == 1 })

        let old = lines(log + ".1"), new = lines(log)
        #expect(old.count == 1 && old.first?.contains("first.test") == true, "renamed file: \(old)")
        #expect(new.count == 1 && new.first?.contains("second.test") == true, "new file: \(new)")
        #expect(child.terminate() == 0)
        #expect(lines(log + ".1").count == 1 && lines(log).count == 1)
    }

    @Test("a reload that changes log.access moves the log to the new file")
    func reloadMovesAccessLog() throws {
        let directory = try TemporaryDirectory()
        let first = directory.file("first.log"), second = directory.file("second.log")
        let policy = try directory.write("log.yaml", loopbackPolicy(allow: [], extra: "log: {access: \"\(first)\"}\n"))
        let child = try ChildProxy(arguments: ["run", "--policy", policy, "--listen", "127.0.0.1:0"])
        _ = try curl(proxyPort: child.port, ["http://one.test/"])
        #expect(eventually { lines(first).count == 1 })

        try loopbackPolicy(allow: [], extra: "log: {access: \"\(second)\"}\n").write(toFile: policy, atomically: false, encoding: .utf8)
        #expect(eventually { child.diagnostics.value.contains("policy reload: access log now written to \(second)") })
        _ = try curl(proxyPort: child.port, ["http://two.test/"])
        #expect(eventually { lines(second).count == 1 })
        #expect(lines(first).count == 1)
        #expect(lines(second).first?.contains("two.test") == true)
        #expect(child.terminate() == 0)
    }

    @Test("--access-log beats log.access, and a file that cannot be opened fails the start with one line")
    func accessLogFlag() throws {
        let directory = try TemporaryDirectory()
        let fromPolicy = directory.file("policy.log"), fromFlag = directory.file("flag.log")
        let policy = try directory.write("log.yaml", loopbackPolicy(allow: [], extra: "log: {access: \"\(fromPolicy)\"}\n"))
        let child = try ChildProxy(arguments: ["run", "--policy", policy, "--listen", "127.0.0.1:0", "--access-log", fromFlag])
        _ = try curl(proxyPort: child.port, ["http://flag.test/"])
        #expect(eventually { lines(fromFlag).count == 1 })
        #expect(child.terminate() == 0)
        #expect(!FileManager.default.fileExists(atPath: fromPolicy))

        let missing = directory.file("no-such-folder/access.log")
        let result = try runCommand(ChildProxy.binaryPath, ["run", "--policy", policy, "--listen", "127.0.0.1:0",
                                                             "--access-log", missing])
        #expect(result.status == 1)
        #expect(result.stderr.split(separator: "\n").count == 1, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("cannot open the access log \(missing): No such file or directory"), "stderr: \(result.stderr)")
    }

    /// libdispatch installs a signal source's handler a moment after start-up: send SIGUSR1 (harmless:
    /// it reopens the access log or logs that there is nothing to reopen) until the child answers.
    private func waitForSignalHandlers(_ child: ChildProxy) {
        let answered = eventually {
            kill(child.process.processIdentifier, SIGUSR1)
            usleep(100_000)
            return child.diagnostics.value.contains("SIGUSR1: ")
        }
        #expect(answered, "the child never handled SIGUSR1")
    }

    /// The next two datagrams: `RELOADING=1` with a `MONOTONIC_USEC` no later than now, then `READY=1`.
    private func expectReloadPair(_ notify: NotifySocket, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let reloading = try #require(notify.receive(), "no RELOADING=1", sourceLocation: sourceLocation)
        let fields = reloading.split(separator: "\n")
        #expect(fields.first == "RELOADING=1", "got \(reloading)", sourceLocation: sourceLocation)
        let stamp = fields.dropFirst().first.flatMap { field in
            field.hasPrefix("MONOTONIC_USEC=") ? UInt64(field.dropFirst("MONOTONIC_USEC=".count)) : nil
        }
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let nowMicroseconds = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
        #expect(stamp.map { $0 > 0 && $0 <= nowMicroseconds } == true, "got \(reloading)", sourceLocation: sourceLocation)
        #expect(notify.receive() == "READY=1", sourceLocation: sourceLocation)
    }
}

/// The complete lines of a file (none when it does not exist).
private func lines(_ path: String) -> [Substring] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
    return text.split(separator: "\n", omittingEmptySubsequences: true)
}

private extension String {
    func occurrences(of needle: String) -> Int {
        components(separatedBy: needle).count - 1
    }
}
