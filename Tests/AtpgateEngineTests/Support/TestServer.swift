#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A thread-per-connection TCP server on loopback with an ephemeral port. `handler` runs on its own
/// thread for each accepted connection. Used as the upstream peer of the proxy in tests.
final class TestServer: @unchecked Sendable {
    let port: UInt16
    private let fd: Int32
    private let lock = NSLock()
    private var stopped = false
    private(set) var acceptedCount = 0

    init(host: String = "127.0.0.1", backlog: Int32 = 128, accepting: Bool = true,
         handler: @escaping @Sendable (BlockingSocket) -> Void) throws {
        let isV6 = host.contains(":")
        let fd = Glibc.socket(isV6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var bound: Int32
        if isV6 {
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            inet_pton(AF_INET6, host, &addr.sin6_addr)
            bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, host, &addr.sin_addr)
            bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        guard bound == 0, listen(fd, backlog) == 0 else { throw TestError("bind/listen: errno \(errno)") }
        port = Self.localPort(fd)
        guard accepting else { return }
        let thread = Thread { [self] in
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 {
                    if isStopped { return }
                    if errno == EINTR || errno == ECONNABORTED { continue }
                    return
                }
                lock.lock(); acceptedCount += 1; lock.unlock()
                let socket = BlockingSocket(fd: client, timeout: 30)
                Thread { handler(socket) }.start()
            }
        }
        thread.start()
    }

    private var isStopped: Bool { lock.lock(); defer { lock.unlock() }; return stopped }

    func stop() {
        lock.lock(); stopped = true; lock.unlock()
        Glibc.shutdown(fd, Int32(SHUT_RDWR))
        Glibc.close(fd)
    }

    deinit { if !isStopped { stop() } }

    static func localPort(_ fd: Int32) -> UInt16 {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            getsockname(fd, $0, &length) } }
        if Int32(storage.ss_family) == AF_INET6 {
            return withUnsafeBytes(of: &storage) { UInt16(bigEndian: $0.load(as: sockaddr_in6.self).sin6_port) }
        }
        return withUnsafeBytes(of: &storage) { UInt16(bigEndian: $0.load(as: sockaddr_in.self).sin_port) }
    }

    /// A port with nothing listening on it (bound, then closed): connecting is refused.
    static func closedPort() -> UInt16 {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        let port = localPort(fd)
        Glibc.close(fd)
        return port
    }

    /// Echoes every byte back until the client half-closes, then half-closes too.
    static func echo(host: String = "127.0.0.1") throws -> TestServer {
        try TestServer(host: host) { socket in
            while let chunk = try? socket.receive(), !chunk.isEmpty {
                try? socket.send(chunk)
            }
            socket.shutdownWrite()
            _ = try? socket.receive()
        }
    }
}
