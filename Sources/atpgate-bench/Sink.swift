#if canImport(Glibc)
import Glibc
#endif

/// The raw sink protocol: a client's first 9 bytes are a mode byte and a big-endian UInt64.
/// - `T n`: the sink discards n bytes and sends n bytes at the same time (tunnel throughput).
/// - `E 0`: echo everything until EOF (ping-pong, idle tunnels).
/// - `R n`: read n bytes, answer n bytes, then close first (setup rate: the sink is the active
///   closer, so the generator's ephemeral ports leave no TIME_WAIT behind).
enum SinkMode: UInt8 {
    case throughput = 84   // "T"
    case echo = 69         // "E"
    case request = 82      // "R"

    static func header(_ mode: SinkMode, _ value: UInt64) -> [UInt8] {
        [mode.rawValue] + (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * UInt64($0))) }
    }
}

/// The local sink (raw protocol above) and HTTP origin (every GET gets the same object,
/// keep-alive unless the request says `Connection: close` or is HTTP/1.0 without keep-alive).
/// One thread, poll(2), non-blocking sockets.
final class SinkServer {
    private final class Connection {
        let fd: Int32
        let http: Bool
        var header: [UInt8] = []
        var skip = 0                // bytes of a leading TLS record still to skip (--tls-hello)
        var mode: SinkMode?
        var value: UInt64 = 0
        var toRead: UInt64 = 0
        var toWrite: UInt64 = 0
        var out: [UInt8] = []
        var outOffset = 0
        var input: [UInt8] = []
        var closeAfterFlush = false

        init(fd: Int32, http: Bool) {
            self.fd = fd
            self.http = http
        }

        var pendingOut: Bool { outOffset < out.count }

        var events: Int16 {
            var events: Int16 = 0
            if http {
                if !pendingOut && !closeAfterFlush { events |= Int16(POLLIN) }
            } else {
                switch mode {
                case nil, .throughput?: events |= Int16(POLLIN)
                case .echo?: if !pendingOut { events |= Int16(POLLIN) }
                case .request?: if toRead > 0 { events |= Int16(POLLIN) }
                }
            }
            if pendingOut || toWrite > 0 { events |= Int16(POLLOUT) }
            return events
        }
    }

    private let rawListener: Int32
    private let httpListener: Int32
    private var connections: [Connection] = []
    private var scratch = [UInt8](repeating: 0, count: 256 * 1024)
    private let payload = [UInt8](repeating: 0x5A, count: 256 * 1024)
    private let keepAliveResponse: [UInt8]
    private let closeResponse: [UInt8]

    init(raw: Endpoint, http: Endpoint, objectBytes: Int) throws(BenchError) {
        rawListener = try Sock.listen(raw, nonBlocking: true)
        httpListener = try Sock.listen(http, nonBlocking: true)
        let body = [UInt8](repeating: 0x61, count: objectBytes)
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: \(objectBytes)\r\n"
        keepAliveResponse = Array((head + "\r\n").utf8) + body
        closeResponse = Array((head + "Connection: close\r\n\r\n").utf8) + body
    }

    /// Serves until `maxSeconds` pass or the parent process is gone.
    func run(maxSeconds: Double, parent: Int32?) {
        let deadline = nowNanos() + UInt64(maxSeconds * 1e9)
        var fds: [pollfd] = []
        while nowNanos() < deadline {
            if let parent, kill(parent, 0) != 0 { return }
            fds.removeAll(keepingCapacity: true)
            fds.append(pollfd(fd: rawListener, events: Int16(POLLIN), revents: 0))
            fds.append(pollfd(fd: httpListener, events: Int16(POLLIN), revents: 0))
            for connection in connections {
                fds.append(pollfd(fd: connection.fd, events: connection.events, revents: 0))
            }
            let ready = poll(&fds, nfds_t(fds.count), 500)
            if ready <= 0 { continue }
            var keep: [Connection] = []
            keep.reserveCapacity(connections.count)
            for (index, connection) in connections.enumerated() {
                let revents = fds[index + 2].revents
                if revents == 0 || serve(connection, revents: revents) {
                    keep.append(connection)
                } else {
                    close(connection.fd)
                }
            }
            connections = keep
            // Accept last: the pollfd array above lines up with the connections polled.
            if fds[0].revents != 0 { accept(rawListener, http: false) }
            if fds[1].revents != 0 { accept(httpListener, http: true) }
        }
    }

    private func accept(_ listener: Int32, http: Bool) {
        for _ in 0..<256 {
            let fd = Glibc.accept(listener, nil, nil)
            guard fd >= 0 else { return }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            Sock.setNoDelay(fd)
            connections.append(Connection(fd: fd, http: http))
        }
    }

    /// Handles one readiness report; false closes the connection.
    private func serve(_ connection: Connection, revents: Int16) -> Bool {
        if revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 && connection.events & Int16(POLLIN) != 0 {
            for _ in 0..<16 {
                let n = scratch.withUnsafeMutableBytes { recv(connection.fd, $0.baseAddress!, $0.count, 0) }
                if n == 0 { return false }
                if n < 0 {
                    if errno == EAGAIN || errno == EINTR { break }
                    return false
                }
                let keep = connection.http ? consumeHTTP(connection, n) : consumeRaw(connection, n)
                if !keep { return false }
                if !flush(connection) { return false }
                if connection.events & Int16(POLLIN) == 0 || n < scratch.count { break }
            }
        } else if revents & Int16(POLLHUP | POLLERR) != 0 && revents & Int16(POLLOUT) == 0 {
            return false
        }
        if revents & Int16(POLLOUT) != 0 && !flush(connection) { return false }
        return true
    }

    private func consumeRaw(_ connection: Connection, _ count: Int) -> Bool {
        var offset = 0
        while connection.mode == nil && offset < count {
            if connection.skip > 0 {
                // The rest of a leading TLS record (`--tls-hello`): not part of the sink's protocol.
                let taken = min(connection.skip, count - offset)
                connection.skip -= taken
                offset += taken
                continue
            }
            let take = min(9 - connection.header.count, count - offset)
            connection.header += scratch[offset..<(offset + take)]
            offset += take
            if connection.header[0] == 0x16 {
                // A TLS record in front (a ClientHello): skip its length once the record header is in.
                guard connection.header.count >= 5 else { continue }
                let length = Int(connection.header[3]) << 8 | Int(connection.header[4])
                let alreadyTaken = connection.header.count - 5
                guard length >= alreadyTaken else { return false }
                connection.skip = length - alreadyTaken
                connection.header = []
                continue
            }
            guard connection.header.count == 9 else { return true }
            guard let mode = SinkMode(rawValue: connection.header[0]) else { return false }
            let value = connection.header[1...].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            connection.mode = mode
            connection.value = value
            switch mode {
            case .throughput: connection.toRead = value; connection.toWrite = value
            case .echo: break
            case .request: connection.toRead = value
            }
        }
        guard connection.mode != nil else { return true }
        let rest = count - offset
        switch connection.mode! {
        case .throughput:
            connection.toRead -= min(UInt64(rest), connection.toRead)
        case .echo:
            if rest > 0 { connection.out += scratch[offset..<count] }
        case .request:
            connection.toRead -= min(UInt64(rest), connection.toRead)
            if connection.toRead == 0 && connection.toWrite == 0 { connection.toWrite = connection.value }
            if connection.value == 0 { return false }
        }
        return true
    }

    private func consumeHTTP(_ connection: Connection, _ count: Int) -> Bool {
        connection.input += scratch[0..<count]
        guard connection.input.count <= 65536 else { return false }
        while let end = headEnd(connection.input) {
            let head = String(decoding: connection.input[..<end], as: UTF8.self).lowercased()
            connection.input.removeSubrange(..<end)
            let firstLine = head.prefix { $0 != "\r" }
            let close = head.contains("\r\nconnection: close")
                || (firstLine.hasSuffix("http/1.0") && !head.contains("\r\nconnection: keep-alive"))
            connection.out += close ? closeResponse : keepAliveResponse
            if close {
                connection.closeAfterFlush = true
                break
            }
        }
        return true
    }

    private func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index + 4
        }
        return nil
    }

    /// Writes what is pending; false when the connection is finished or broken.
    private func flush(_ connection: Connection) -> Bool {
        for _ in 0..<64 {
            let n: Int
            if connection.pendingOut {
                n = connection.out.withUnsafeBytes {
                    send(connection.fd, $0.baseAddress! + connection.outOffset, $0.count - connection.outOffset, Int32(MSG_NOSIGNAL))
                }
                if n > 0 {
                    connection.outOffset += n
                    if !connection.pendingOut {
                        connection.out.removeAll(keepingCapacity: true)
                        connection.outOffset = 0
                    }
                }
            } else if connection.toWrite > 0 {
                let size = Int(min(connection.toWrite, UInt64(payload.count)))
                n = payload.withUnsafeBytes { send(connection.fd, $0.baseAddress!, size, Int32(MSG_NOSIGNAL)) }
                if n > 0 {
                    connection.toWrite -= UInt64(n)
                    if connection.toWrite == 0 && connection.mode == .request { return false }
                }
            } else {
                break
            }
            if n < 0 {
                if errno == EAGAIN || errno == EINTR { return true }
                return false
            }
        }
        if connection.closeAfterFlush && !connection.pendingOut { return false }
        return true
    }
}
