import Foundation
#if canImport(Glibc)
import Glibc
#endif
import AtpgateIO

/// A real `openssl` child (s_server, s_client) for the TLS stream tests: stdin a pipe the test writes,
/// stdout and stderr collected. Killed with SIGKILL (children inherit the test process's blocked SIGTERM)
/// and reaped by `kill()`, which `deinit` calls too, so none outlives its test.
final class TLSPeerProcess: @unchecked Sendable {
    private let process = Process()
    private let input = Pipe()
    private let output = Locked<[UInt8]>([])
    private let errors = Locked<[UInt8]>([])
    private let closedOutputs = Locked(0)
    private var launched = false

    init(_ arguments: [String], in directory: TemporaryDirectory) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.currentDirectoryURL = directory.url
        let out = Pipe(), err = Pipe()
        process.standardInput = input
        process.standardOutput = out
        process.standardError = err
        try process.run()
        launched = true
        Self.collect(out.fileHandleForReading, into: output, closed: closedOutputs)
        Self.collect(err.fileHandleForReading, into: errors, closed: closedOutputs)
    }

    deinit {
        kill()
    }

    /// `openssl s_server -accept 127.0.0.1:0 ARGS` and the port it listens on.
    static func server(_ arguments: [String], in directory: TemporaryDirectory) throws -> (TLSPeerProcess, UInt16) {
        let server = try TLSPeerProcess(["s_server", "-accept", "127.0.0.1:0"] + arguments, in: directory)
        var port: UInt16?
        _ = loopEventually {
            let text = String(decoding: server.stdout, as: UTF8.self)
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("ACCEPT 127.0.0.1:") }) {
                port = UInt16(line.dropFirst("ACCEPT 127.0.0.1:".count).trimmingCharacters(in: .whitespaces))
            }
            return port != nil || !server.isRunning
        }
        guard let port else { throw LoopTestError("s_server did not start: \(server.stderrText)") }
        return (server, port)
    }

    /// `openssl s_client -connect 127.0.0.1:PORT ARGS`.
    static func client(port: UInt16, _ arguments: [String], in directory: TemporaryDirectory) throws -> TLSPeerProcess {
        try TLSPeerProcess(["s_client", "-connect", "127.0.0.1:\(port)"] + arguments, in: directory)
    }

    var isRunning: Bool { process.isRunning }
    var stdout: [UInt8] { output.value }
    var stderrText: String { String(decoding: errors.value, as: UTF8.self) }
    /// Both stdout and stderr reached their end (the child exited).
    var outputComplete: Bool { closedOutputs.value == 2 }

    /// Writes `bytes` to the child's stdin from a thread of its own (a pipe that fills must not stall the
    /// test), then closes stdin if asked.
    func send(_ bytes: [UInt8], thenClose: Bool) {
        let handle = input.fileHandleForWriting
        Thread {
            try? handle.write(contentsOf: Data(bytes))
            if thenClose { try? handle.close() }
        }.start()
    }

    func kill() {
        guard launched else { return }
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    private static func collect(_ handle: FileHandle, into sink: Locked<[UInt8]>, closed: Locked<Int>) {
        Thread {
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                sink.withLock { $0 += Array(data) }
            }
            closed.withLock { $0 += 1 }
        }.start()
    }
}
