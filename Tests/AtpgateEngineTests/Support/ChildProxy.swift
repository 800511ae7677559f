import Foundation
@testable import AtpgateEngine
import AtpgateIO
#if canImport(Glibc)
import Glibc
#endif

/// The real `atpgate` binary run as a child process (for descriptor counts, signals and exit codes,
/// which an in-process proxy would mix up with the test runner's own).
final class ChildProxy: @unchecked Sendable {
    let process = Process()
    let port: UInt16
    private let stderrPipe = Pipe()
    /// Everything the child wrote to stderr (swift-log diagnostics).
    let diagnostics = Locked("")

    /// The binary sits next to the test bundle in SwiftPM's build folder.
    static var binaryPath: String {
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = runner.deletingLastPathComponent()
        // On Linux the runner is <build>/debug/atpgatePackageTests.xctest; elsewhere it may sit deeper.
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("atpgate").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return directory.appendingPathComponent("atpgate").path
    }

    /// Starts `atpgate run` and waits for its "listening" line to learn the port. With
    /// `descriptorLimit`, the child runs under that hard limit (`ulimit -n`), so it cannot raise it.
    init(arguments: [String], currentDirectory: String? = nil, descriptorLimit: Int? = nil,
         environment: [String: String] = [:]) throws {
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        if let descriptorLimit {
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            let quoted = ([Self.binaryPath] + arguments).map { "'\($0)'" }.joined(separator: " ")
            process.arguments = ["-c", "ulimit -n \(descriptorLimit) && exec \(quoted)"]
        } else {
            process.executableURL = URL(fileURLWithPath: Self.binaryPath)
            process.arguments = arguments
        }
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = stderrPipe
        try process.run()
        var collected = ""
        let deadline = Date().addingTimeInterval(20)
        var found: UInt16?
        while found == nil && Date() < deadline && process.isRunning {
            let data = stderrPipe.fileHandleForReading.availableData
            if data.isEmpty { break }
            collected += String(decoding: data, as: UTF8.self)
            if let range = collected.range(of: #"listen=\S*:(\d+)"#, options: .regularExpression) {
                let match = collected[range]
                found = UInt16(match.split(separator: ":").last!.prefix(while: \.isNumber))
            }
        }
        guard let found else {
            process.terminate()
            throw TestError("atpgate did not start: \(collected)")
        }
        port = found
        // Keep draining stderr (the child must never block on a full pipe) into `diagnostics`.
        let handle = stderrPipe.fileHandleForReading
        let diagnostics = self.diagnostics
        diagnostics.withLock { $0 = collected }
        Thread {
            while true {
                let data = handle.availableData
                if data.isEmpty { return }
                diagnostics.withLock { $0 += String(decoding: data, as: UTF8.self) }
            }
        }.start()
    }

    /// CPU seconds (user + system) the child has used so far.
    var cpuSeconds: Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return -1 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command name: state is field 3, utime 14, stime 15 (1-based in proc(5)).
        let ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// The child's open sockets and pipes: what the engine opens per connection. libdispatch's own
    /// descriptors (epoll, eventfd, a timerfd per timer class, created lazily) are not counted.
    var descriptorCount: Int {
        let directory = "/proc/\(process.processIdentifier)/fd"
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return entries.filter { entry in
            let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: directory + "/" + entry)) ?? ""
            return target.hasPrefix("socket:") || target.hasPrefix("pipe:")
        }.count
    }

    /// Resident memory of the child in KiB (VmRSS).
    var residentKiB: Int {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return -1 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
    }

    /// Waits until the child's sockets and pipes are back to `baseline`; returns the count then.
    func settledDescriptors(baseline: Int, timeout: Double = 10) -> Int {
        var count = descriptorCount
        let deadline = Date().addingTimeInterval(timeout)
        while count > baseline && Date() < deadline {
            usleep(50_000)
            count = descriptorCount
        }
        return count
    }

    /// Sends SIGTERM and waits; returns the exit status.
    func terminate(timeout: Double = 30) -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit(); return -1 }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// The repository root, for the shipped policies.
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<4 { url.deleteLastPathComponent() }
    return url.path
}()
