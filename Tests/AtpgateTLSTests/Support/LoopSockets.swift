#if canImport(Glibc)
import Glibc
#endif
import AtpgateIO

// Loops and real TCP sockets on 127.0.0.1 for the TLS stream tests. Names start with `Loop` so they
// cannot meet the helpers other test files of this target define.

struct LoopTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Polls `condition` until it holds or `timeout` seconds pass.
func loopEventually(timeout: Double = 20, _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
    while ContinuousClock.now < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}

/// One I/O loop of its own, and sockets for it.
final class LoopHarness: @unchecked Sendable {
    private let group = IOLoopGroup(count: 1)
    var loop: IOLoop { group.loops[0] }

    init() {
        ProcessSetup.ignoreSIGPIPE()   // a peer gone mid-write is an EPIPE to test, not a dead test run
    }

    /// Runs `body` on the loop's queue and returns its result.
    func onLoop<T>(_ body: () throws -> T) rethrows -> T {
        try loop.queue.sync(execute: body)
    }

    /// A non-blocking, close-on-exec listener on 127.0.0.1 with an ephemeral port.
    /// `bufferSize`: SO_SNDBUF and SO_RCVBUF (accepted sockets inherit them), to make back-pressure quick.
    static func listen(bufferSize: Int32? = nil) throws -> (listener: Socket, port: UInt16) {
        let socket = try Socket.makeTCP(family: AF_INET)
        if let bufferSize { try setBuffers(socket, bufferSize) }
        var address = loopbackAddress(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket.fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(socket.fd, 16) == 0 else {
            socket.close()
            throw LoopTestError("bind/listen: errno \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket.fd, $0, &length) }
        }
        return (socket, UInt16(bigEndian: address.sin_port))
    }

    /// The next connection `listener` accepts within `timeout` seconds (non-blocking, close-on-exec).
    static func accept(_ listener: Socket, timeout: Double = 20) throws -> Socket {
        var accepted: Socket?
        let ready = loopEventually(timeout: timeout) {
            accepted = (try? listener.accept())??.0
            return accepted != nil
        }
        guard ready, let accepted else { throw LoopTestError("nothing connected within \(timeout) s") }
        return accepted
    }

    /// A connected non-blocking, close-on-exec socket to 127.0.0.1:`port`.
    static func connect(port: UInt16, bufferSize: Int32? = nil, timeout: Double = 20) throws -> Socket {
        let socket = try Socket.makeTCP(family: AF_INET)
        if let bufferSize { try setBuffers(socket, bufferSize) }
        var address = loopbackAddress(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket.fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if result != 0 && errno != EINPROGRESS {
            socket.close()
            throw LoopTestError("connect: errno \(errno)")
        }
        guard loopEventually(timeout: timeout, { socket.connectProgress != .inProgress }),
              socket.connectProgress == .connected else {
            socket.close()
            throw LoopTestError("connect to port \(port) failed")
        }
        return socket
    }

    static func setBuffers(_ socket: Socket, _ size: Int32) throws {
        try socket.setOption(level: SOL_SOCKET, name: SO_SNDBUF, value: size)
        try socket.setOption(level: SOL_SOCKET, name: SO_RCVBUF, value: size)
    }

    /// A socket channel on this loop for `socket`.
    func channel(_ socket: Socket) -> SocketChannel {
        SocketChannel(socket: socket, loop: loop)
    }

    static func loopbackAddress(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    /// Writes all of `bytes` to a (non-blocking) socket from the test thread, waiting while it is full.
    static func writeAll(_ bytes: [UInt8], to socket: Socket) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(socket.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                offset += n
            } else if errno == EAGAIN || errno == EINTR {
                usleep(1000)
            } else {
                throw LoopTestError("send: errno \(errno)")
            }
        }
    }

    /// Reads from a (non-blocking) socket from the test thread until `enough` holds, the end, or `timeout`.
    static func readUntil(_ socket: Socket, timeout: Double = 20, _ enough: ([UInt8]) -> Bool) -> [UInt8] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        _ = loopEventually(timeout: timeout) {
            while true {
                let n = buffer.withUnsafeMutableBytes { Glibc.recv(socket.fd, $0.baseAddress, $0.count, 0) }
                if n > 0 { bytes += buffer[0..<n]; continue }
                return n == 0 || enough(bytes) || (n < 0 && errno != EAGAIN && errno != EINTR)
            }
        }
        return bytes
    }

    /// Open descriptors of this process.
    static func openDescriptorCount() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return -1 }
        defer { closedir(directory) }
        var count = 0
        while readdir(directory) != nil { count += 1 }
        return count
    }
}

/// `count` random bytes (from /dev/urandom: quick even in a debug build, unlike a `UInt8.random` per byte).
func loopRandomBytes(_ count: Int) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    let fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
    precondition(fd >= 0, "no /dev/urandom")
    defer { close(fd) }
    var offset = 0
    while offset < count {
        let n = bytes[offset...].withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        precondition(n > 0, "reading /dev/urandom failed")
        offset += n
    }
    return bytes
}
