import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real Node.js HTTPS server that requires a client certificate and keeps connections alive: each answer
/// is JSON naming the request line, the client certificate's CN and a number per TLS connection, so a test
/// sees which requests shared an upstream connection. A request whose path contains `close-later` is
/// answered as usual (keep-alive), and 100 ms later the server closes that connection: an upstream
/// closing an idle keep-alive connection.
final class NodeHTTPSServer: @unchecked Sendable {
    let port: UInt16
    private let process: Process

    init(certificate: String, key: String, clientCA: String) throws {
        let script = """
        const https = require('https'); const fs = require('fs');
        let next = 0;
        const server = https.createServer({cert: fs.readFileSync(process.argv[1]), key: fs.readFileSync(process.argv[2]),
            ca: fs.readFileSync(process.argv[3]), requestCert: true, rejectUnauthorized: true}, (req, res) => {
          const socket = req.socket;
          if (socket.atpgateId === undefined) socket.atpgateId = ++next;
          const body = JSON.stringify({line: req.method + ' ' + req.url, cn: socket.getPeerCertificate().subject.CN,
                                       connection: socket.atpgateId, host: req.headers.host});
          res.writeHead(200, {'content-type': 'application/json', 'content-length': Buffer.byteLength(body)});
          res.end(body);
          if (req.url.includes('close-later')) setTimeout(() => socket.end(), 100);
        });
        server.listen(0, '127.0.0.1', () => { console.log(server.address().port); });
        """
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/node")
        process.arguments = ["-e", script, certificate, key, clientCA]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = Pipe()
        try process.run()
        var text = ""
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, !text.contains("\n") {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
        }
        guard let port = UInt16(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.forceKill()
            throw TestError("node did not report a port: \(text)")
        }
        self.port = port
    }

    deinit { TLSServer.kill(process) }
}
