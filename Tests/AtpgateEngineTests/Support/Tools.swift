import Foundation

/// Streams bytes into `sha256sum` (coreutils) and returns the hex digest: a real, fast SHA-256
/// even in a debug test build.
final class StreamingSHA256: @unchecked Sendable {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()

    init() throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.standardInput = input
        process.standardOutput = output
        try process.run()
    }

    func update(_ bytes: [UInt8]) {
        input.fileHandleForWriting.write(Data(bytes))
    }

    func finish() -> String {
        try? input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
    }
}

/// Deterministic pseudo-random bytes (xorshift), cheap to make in bulk.
struct PayloadGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed | 1 }

    mutating func next(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { raw in
            let words = raw.bindMemory(to: UInt64.self)
            for i in 0..<words.count {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                words[i] = state
            }
        }
        return bytes
    }
}

/// Runs a command, returning its exit status, stdout and stderr.
@discardableResult
func runCommand(_ path: String, _ arguments: [String], environment: [String: String]? = nil,
                timeout: Double = 30) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    var env = environment ?? ProcessInfo.processInfo.environment
    for key in ["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"] {
        env[key] = nil
    }
    process.environment = env
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let killer = DispatchWorkItem { process.forceKill() }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    killer.cancel()
    return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
}

/// A temporary directory removed when the value goes away.
final class TemporaryDirectory: @unchecked Sendable {
    let path: String

    init() throws {
        let template = NSTemporaryDirectory() + "atpgate-test-XXXXXX"
        var bytes = Array(template.utf8CString)
        guard let made = mkdtemp(&bytes) else { throw TestError("mkdtemp failed") }
        path = String(cString: made)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ name: String, _ contents: String) throws -> String {
        let file = file(name)
        try contents.write(toFile: file, atomically: false, encoding: .utf8)
        return file
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

extension Process {
    /// SIGKILL, not `terminate()`: a child spawned from the test process inherits its blocked signal mask
    /// (Dispatch's threads block SIGTERM), so a SIGTERM may never arrive and the child would outlive the tests.
    func forceKill() {
        guard isRunning else { return }
        Glibc.kill(processIdentifier, SIGKILL)
    }
}
