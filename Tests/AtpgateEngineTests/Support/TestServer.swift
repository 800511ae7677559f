#if canImport(Glibc)
import Glibc
#endif
import Foundation
import AtpgateNet
@testable import AtpgateEngine
@testable import AtpgateIO

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
        guard let ip = IPAddress(host) else { throw TestError("not an IP literal: \(host)") }
        let address = SocketAddress(ip: ip, port: 0)
        let fd = Glibc.socket(address.family, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = address.withSockaddr { bind(fd, $0, $1) }
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
        Socket(fd: fd).localAddress?.port ?? 0
    }

    /// A port with nothing listening on it (bound, then closed): connecting is refused.
    static func closedPort() -> UInt16 {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        _ = SocketAddress(ip: IPAddress("127.0.0.1")!, port: 0).withSockaddr { bind(fd, $0, $1) }
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
