import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real `openssl s_server -www` on 127.0.0.1 with a throwaway certificate for `name`.
final class TLSServer: @unchecked Sendable {
    let port: UInt16
    let certificatePath: String
    private let directory: TemporaryDirectory
    private var running: Process?

    init(name: String) throws {
        directory = try TemporaryDirectory()
        certificatePath = directory.file("cert.pem")
        let key = directory.file("key.pem")
        let made = try runCommand("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", certificatePath, "-days", "1", "-subj", "/CN=\(name)",
            "-addext", "subjectAltName=DNS:\(name)",
        ])
        guard made.status == 0 else { throw TestError("openssl req: \(made.stderr)") }
        var lastError = ""
        for _ in 0..<5 {
            let candidate = TestServer.closedPort()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = ["s_server", "-accept", "127.0.0.1:\(candidate)", "-cert", certificatePath, "-key", key,
                                 "-www", "-quiet", "-naccept", "1000"]
            process.standardInput = Pipe()
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Wait until it accepts connections.
            let deadline = Date().addingTimeInterval(5)
            while Date() < deadline && process.isRunning {
                if (try? BlockingSocket.connect("127.0.0.1", candidate, timeout: 1)) != nil {
                    port = candidate
                    running = process
                    return
                }
                usleep(20_000)
            }
            Self.kill(process)
            lastError = "s_server did not start on port \(candidate)"
        }
        throw TestError(lastError)
    }

    deinit { running.map(Self.kill) }

    /// Kills (SIGKILL: see `Process.forceKill`) and reaps; one s_server per test leaked before.
    static func kill(_ process: Process) {
        guard process.isRunning else { return }
        process.forceKill()
        process.waitUntilExit()
    }
}

/// curl through the proxy; returns exit status, body and stderr.
func curl(proxyPort: UInt16, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    try runCommand("/usr/bin/curl", ["-sS", "--max-time", "20", "--noproxy", "", "-x", "http://127.0.0.1:\(proxyPort)"] + arguments)
}
