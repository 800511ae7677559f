#if canImport(Glibc)
import Glibc
#endif
import CAtpgateSys

/// A non-blocking TCP socket descriptor. A value type: whoever holds it decides when to close it
/// (in the engine, `SocketChannel` does, after its Dispatch sources are cancelled).
public struct Socket: Sendable, Hashable {
    public let fd: Int32
    /// TCP_NODELAY is known to be on already (accepted from a listener that has it: Linux copies it
    /// to the accepted socket), so `setNoDelay` has nothing to do. Not part of the socket's identity.
    let hasNoDelay: Bool

    public init(fd: Int32) {
        self.init(fd: fd, noDelayKnown: false)
    }

    /// `noDelayKnown`: TCP_NODELAY is already on (see `hasNoDelay`).
    public init(fd: Int32, noDelayKnown: Bool) {
        self.fd = fd
        self.hasNoDelay = noDelayKnown
    }

    public static func == (lhs: Socket, rhs: Socket) -> Bool { lhs.fd == rhs.fd }

    public func hash(into hasher: inout Hasher) { hasher.combine(fd) }

    /// SOCK_STREAM as an Int32 (Glibc imports it as an enum; files that also import Foundation
    /// cannot always see it).
    public static let streamType = Int32(SOCK_STREAM.rawValue)

    /// A new non-blocking, close-on-exec stream socket.
    public static func makeTCP(family: Int32) throws(SocketError) -> Socket {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = Glibc.socket(family, type, 0)
        guard fd >= 0 else { throw SocketError("socket") }
        return Socket(fd: fd)
    }

    // MARK: Options

    public func setOption(level: Int32, name: Int32, value: Int32) throws(SocketError) {
        var value = value
        guard setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw SocketError("setsockopt")
        }
    }

    /// Small writes (a 200 reply, a ping-pong byte) must not wait for Nagle. No syscall when the
    /// socket already has it from its listener (`accept(noDelayInherited:)`).
    public func setNoDelay() {
        guard !hasNoDelay else { return }
        try? setOption(level: Int32(IPPROTO_TCP), name: TCP_NODELAY, value: 1)
    }

    /// Whether TCP_NODELAY is on (one getsockopt): a listener checks once that its accepted sockets
    /// inherit it before it lets them skip `setNoDelay`.
    public var isNoDelayOn: Bool {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &value, &length) == 0 && value != 0
    }

    // MARK: Listening

    public func bind(_ address: SocketAddress) throws(SocketError) {
        let result = address.withSockaddr { Glibc.bind(fd, $0, $1) }
        guard result == 0 else { throw SocketError("bind \(address)") }
    }

    public func listen(backlog: Int32) throws(SocketError) {
        guard Glibc.listen(fd, backlog) == 0 else { throw SocketError("listen") }
    }

    /// Accepts one pending connection (non-blocking, close-on-exec); nil when none is pending.
    /// `noDelayInherited`: this listener has TCP_NODELAY and its accepted sockets are known to carry
    /// it, so theirs need no setsockopt of their own.
    public func accept(noDelayInherited: Bool = false) throws(SocketError) -> (Socket, SocketAddress?)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let client = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                atpgate_accept_nonblocking(fd, $0, &length)
            }
        }
        if client < 0 {
            let error = SocketError("accept")
            if error.wouldBlock || error.errno == EINTR || error.errno == ECONNABORTED { return nil }
            throw error
        }
        return (Socket(fd: client, noDelayKnown: noDelayInherited), SocketAddress(storage: storage))
    }

    // MARK: Connecting

    /// Starts a non-blocking connect. Returns true when already connected, false when in progress.
    public func startConnect(to address: SocketAddress) throws(SocketError) -> Bool {
        let result = address.withSockaddr { Glibc.connect(fd, $0, $1) }
        if result == 0 { return true }
        let error = SocketError("connect \(address)")
        if error.errno == EINPROGRESS || error.errno == EINTR { return false }
        throw error
    }

    /// The pending error of a finished non-blocking connect (0 = connected).
    public var pendingError: Int32 { atpgate_socket_error(fd) }

    /// Polls for writability without waiting: loopback connects usually finish at once, which
    /// saves arming a write source (see ../shared/notes/swift-on-linux.md).
    public var isWritableNow: Bool {
        let revents = atpgate_poll_one(fd, Int16(POLLOUT), 0)
        return revents > 0
    }

    /// Where a non-blocking connect stands.
    public enum ConnectProgress: Equatable, Sendable {
        case connected
        case failed(Int32)     // the errno of the failed connect
        case inProgress
    }

    /// Where a started connect stands, without waiting: one poll(2). Loopback and nearby peers
    /// usually finish the handshake at once, which saves a wait in the poll set. Writable without
    /// POLLERR or POLLHUP means connected, so SO_ERROR is read only when the connect failed (a
    /// refused or unreachable connect sets POLLERR).
    public var connectProgress: ConnectProgress {
        let revents = atpgate_poll_one(fd, Int16(POLLOUT), 0)
        guard revents > 0 else { return .inProgress }
        let bits = Int16(truncatingIfNeeded: revents)
        if bits & Int16(POLLOUT) != 0 && bits & Int16(POLLERR | POLLHUP | POLLNVAL) == 0 { return .connected }
        let error = pendingError
        return error == 0 ? .connected : .failed(error)
    }

    // MARK: Addresses

    public var localAddress: SocketAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return result == 0 ? SocketAddress(storage: storage) : nil
    }

    // MARK: Data

    /// Reads into `buffer`. Returns bytes read (0 = end of stream) or nil when it would block.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int? {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            let error = SocketError("read")
            if error.errno == EINTR { continue }
            if error.wouldBlock { return nil }
            throw error
        }
    }

    /// Writes from `buffer`. Returns bytes written (possibly fewer) or nil when it would block.
    func write(_ buffer: UnsafeRawBufferPointer) throws(SocketError) -> Int? {
        while true {
            let n = Glibc.send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
            if n >= 0 { return n }
            let error = SocketError("write")
            if error.errno == EINTR { continue }
            if error.wouldBlock { return nil }
            throw error
        }
    }

    /// Half-close: no more bytes will be sent; the peer reads end of stream.
    public func shutdownWrite() {
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    /// Ask the kernel to send a reset instead of a FIN on close (used to propagate a reset).
    func setLingerZero() {
        var value = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &value, socklen_t(MemoryLayout<linger>.size))
    }

    public func close() {
        _ = Glibc.close(fd)
    }
}
