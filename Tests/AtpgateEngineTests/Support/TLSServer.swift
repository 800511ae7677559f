import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real `openssl s_server -www` on 127.0.0.1 with a throwaway certificate for `name`.
final class TLSServer: @unchecked Sendable {
    let port: UInt16
    let certificatePath: String
    private let directory: TemporaryDirectory?
    private var running: Process?

    /// `openssl s_server -www` with a throwaway self-signed certificate for `name`.
    convenience init(name: String) throws {
        let directory = try TemporaryDirectory()
        let certificate = directory.file("cert.pem")
        let key = directory.file("key.pem")
        let made = try runCommand("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", certificate, "-days", "1", "-subj", "/CN=\(name)",
            "-addext", "subjectAltName=DNS:\(name)",
        ])
        guard made.status == 0 else { throw TestError("openssl req: \(made.stderr)") }
        try self.init(certificate: certificate, key: key, arguments: ["-www"], keeping: directory)
    }

    /// `openssl s_server` with the given certificate and key and further `arguments` (`-www` or `-WWW`,
    /// `-Verify 1 -CAfile …` for a server that requires a client certificate, `-tls1_2`, …).
    init(certificate: String, key: String, arguments: [String], keeping directory: TemporaryDirectory? = nil) throws {
        self.directory = directory
        certificatePath = certificate
        var lastError = ""
        for _ in 0..<5 {
            let candidate = TestServer.closedPort()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = ["s_server", "-accept", "127.0.0.1:\(candidate)", "-cert", certificate, "-key", key,
                                 "-quiet", "-naccept", "1000"] + arguments
            if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory.path) }
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
