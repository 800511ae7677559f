#if canImport(Glibc)
import Glibc
#endif

/// A non-blocking TCP socket driven by poll(2) against one deadline, for `atpgate probe`: a one-shot
/// health check with no event loop, where every step (connect, send, each read) must give up when the
/// whole probe's time is spent.
struct ProbeSocket: ~Copyable {
    /// A failed step, with the OS's words for it ("Connection refused") or "timed out".
    struct Failure: Error {
        let step: String
        let reason: String
        var isTimeout = false

        static func timedOut(_ step: String) -> Failure { Failure(step: step, reason: "timed out", isTimeout: true) }
    }

    private let fd: Int32
    private let deadline: ContinuousClock.Instant

    /// Resolves `host` (getaddrinfo: IP literals and names, both families) and connects to the first
    /// address that accepts before the deadline. Name resolution itself cannot be interrupted.
    init(host: String, port: UInt16, deadline: ContinuousClock.Instant) throws(Failure) {
        self.deadline = deadline
        fd = try Self.resolveAndConnect(host: host, port: port, deadline: deadline)
    }

    deinit { close(fd) }

    private static func resolveAndConnect(host: String, port: UInt16,
                                          deadline: ContinuousClock.Instant) throws(Failure) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw Failure(step: "resolve", reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(first) }
        var lastFailure = Failure(step: "connect", reason: "no addresses")
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let info = node {
            node = info.pointee.ai_next
            guard let address = info.pointee.ai_addr else { continue }
            switch connect(family: info.pointee.ai_family, address: address,
                           length: info.pointee.ai_addrlen, deadline: deadline) {
            case .success(let connected):
                return connected
            case .failure(let failure):
                // The deadline covers every address: once it has passed, the next would time out at once.
                if failure.isTimeout { throw failure }
                lastFailure = failure
            }
        }
        throw lastFailure
    }

    private static func connect(family: Int32, address: UnsafePointer<sockaddr>, length: socklen_t,
                                deadline: ContinuousClock.Instant) -> Result<Int32, Failure> {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failure(Failure(step: "connect", reason: Self.text(errno))) }
        if Glibc.connect(fd, address, length) == 0 { return .success(fd) }
        guard errno == EINPROGRESS else {
            let error = errno
            close(fd)
            return .failure(Failure(step: "connect", reason: Self.text(error)))
        }
        if let failure = wait(fd, for: Int16(POLLOUT), until: deadline, step: "connect") {
            close(fd)
            return .failure(failure)
        }
        var error: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size)
        guard error == 0 else {
            close(fd)
            return .failure(Failure(step: "connect", reason: Self.text(error)))
        }
        return .success(fd)
    }

    /// Sends all of `bytes`.
    func send(_ bytes: [UInt8]) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent >= 0 { offset += sent; continue }
            let error = errno
            if error == EINTR { continue }
            guard error == EAGAIN || error == EWOULDBLOCK else { throw Failure(step: "send", reason: Self.text(error)) }
            if let failure = Self.wait(fd, for: Int16(POLLOUT), until: deadline, step: "send") { throw failure }
        }
    }

    /// The next bytes the peer sends; empty when it has closed.
    func receive() throws(Failure) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count >= 0 { return Array(buffer[0..<count]) }
            let error = errno
            if error == EINTR { continue }
            guard error == EAGAIN || error == EWOULDBLOCK else { throw Failure(step: "response", reason: Self.text(error)) }
            if let failure = Self.wait(fd, for: Int16(POLLIN), until: deadline, step: "response") { throw failure }
        }
    }

    /// Polls until `events` or the deadline; nil when ready (errors show up in the next call).
    private static func wait(_ fd: Int32, for events: Int16, until deadline: ContinuousClock.Instant,
                             step: String) -> Failure? {
        while true {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { return .timedOut(step) }
            // Round up so a sub-millisecond remainder still waits instead of spinning.
            let milliseconds = Int32(min(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1,
                                         Int64(Int32.max)))
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&entry, 1, milliseconds)
            if ready > 0 { return nil }
            if ready < 0 && errno != EINTR { return Failure(step: step, reason: text(errno)) }
        }
    }

    private static func text(_ error: Int32) -> String { String(cString: strerror(error)) }
}
