#if canImport(Glibc)
import Glibc
#endif

/// The TLS sink of the inspection benchmarks (`atpgate-bench tls-sink`): blocking OpenSSL on a fixed pool
/// of threads that all block in accept(2) on one listening socket (the kernel wakes one per connection), so
/// no thread is created per connection and no event loop sits between a connection and its handshake.
/// Each connection: a full mutual-TLS handshake (the client's certificate required and verified), one
/// HTTP/1.1 request, the answer with `Connection: close`, close_notify, close — the sink closes first, so
/// the clients' ephemeral ports leave no TIME_WAIT behind.
/// - `GET /small`: 1 KiB body (the connection-rate scenario).
/// - `GET /bytes/N`: N zero bytes with Content-Length (the throughput scenario).
final class TLSBenchServer: @unchecked Sendable {
    static let smallBytes = 1024

    private let listener: Int32
    private let context: TLSBenchContext
    private let smallResponse: [UInt8]
    private let zeros = [UInt8](repeating: 0, count: 256 * 1024)
    /// Failed connections; the first few are logged in full, then every 1000th.
    private let failures = Shared(0)

    init(listen: Endpoint, context: TLSBenchContext) throws(BenchError) {
        listener = try Sock.listen(listen, nonBlocking: false)
        self.context = context
        smallResponse = Self.head(status: "200 OK", length: UInt64(Self.smallBytes)) + [UInt8](repeating: 0x61, count: Self.smallBytes)
    }

    var port: UInt16 { Sock.localPort(listener) }

    /// Starts `threads` accept loops; they run until the process exits.
    func start(threads: Int) {
        for _ in 0..<max(1, threads) {
            _ = JoinableThread { [self] in acceptLoop() }
        }
    }

    private func acceptLoop() {
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                if errno == EMFILE || errno == ENFILE { usleep(10_000); continue }
                note("tls-sink: accept: \(String(cString: strerror(errno)))")
                usleep(10_000)
                continue
            }
            do {
                try serve(fd)
            } catch {
                let count = failures.with { $0 += 1; return $0 }
                if count <= 20 || count % 1000 == 0 { note("tls-sink: connection failed (\(count) so far): \(error)") }
            }
            close(fd)
        }
    }

    private func serve(_ fd: Int32) throws(BenchError) {
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        // The handshake's flights and the answer are small writes the peer waits for: no Nagle delay.
        Sock.setNoDelay(fd)
        // A connection closed before its first byte is a readiness probe (`atpgate-bench wait-port`), not a
        // failed handshake: left without a word.
        var first: UInt8 = 0
        guard recv(fd, &first, 1, Int32(MSG_PEEK)) > 0 else { return }
        let connection = try TLSBenchConnection(context: context, fd: fd)
        try connection.accept()
        let head = try connection.readHead()
        let line = String(decoding: head.prefix { $0 != 13 }, as: UTF8.self)
        let parts = line.split(separator: " ")
        guard parts.count == 3, parts[0] == "GET" else {
            try connection.write(Self.head(status: "400 Bad Request", length: 0))
            connection.shutdown()
            throw .proto("not a GET: \(line.prefix(80))")
        }
        let path = parts[1]
        if path == "/small" {
            try connection.write(smallResponse)
        } else if path.hasPrefix("/bytes/"), let count = UInt64(path.dropFirst(7)) {
            try connection.write(Self.head(status: "200 OK", length: count))
            var left = count
            while left > 0 {
                let size = Int(min(left, UInt64(zeros.count)))
                let written = zeros.withUnsafeBytes { raw in
                    Result { () throws(BenchError) in try connection.write(raw.baseAddress!, size) }
                }
                try written.get()
                left -= UInt64(size)
            }
        } else {
            try connection.write(Self.head(status: "404 Not Found", length: 0))
        }
        connection.shutdown()
    }

    static func head(status: String, length: UInt64) -> [UInt8] {
        Array("HTTP/1.1 \(status)\r\nContent-Type: application/octet-stream\r\nContent-Length: \(length)\r\nConnection: close\r\n\r\n".utf8)
    }
}
