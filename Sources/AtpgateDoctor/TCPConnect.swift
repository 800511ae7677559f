#if canImport(Glibc)
import Glibc
#endif
import AtpgateNet

/// A connected blocking TCP socket whose reads and writes time out (SO_RCVTIMEO / SO_SNDTIMEO), so the
/// blocking OpenSSL calls over it cannot hang. Closed when the value goes away.
final class TCPConnection {
    let fd: Int32
    /// "127.0.0.1:443": where it is connected.
    let address: String

    private init(fd: Int32, address: String) {
        self.fd = fd
        self.address = address
    }

    deinit { close(fd) }

    /// The connect step: each address in turn until one accepts, each attempt bounded by `timeout`
    /// (a non-blocking connect and poll). The failure names the first address and why it failed, and how
    /// many others failed too.
    static func connect(to addresses: [IPAddress], port: UInt16, timeout: Double) throws(StepFailure) -> TCPConnection {
        var failures: [(String, String)] = []
        for address in addresses {
            let text = SocketAddresses.text(address, port: port)
            switch attempt(address, port: port, timeout: timeout) {
            case .success(let fd): return TCPConnection(fd: fd, address: text)
            case .failure(let reason): failures.append((text, reason.text))
            }
        }
        guard let first = failures.first else { throw StepFailure(step: .connect, reason: "no address to connect to") }
        let others = failures.count > 1 ? " (and \(failures.count - 1) more addresses)" : ""
        throw StepFailure(step: .connect, reason: first.1 + others, address: first.0)
    }

    private static func attempt(_ address: IPAddress, port: UInt16, timeout: Double) -> Result<Int32, Reason> {
        let fd = socket(address.isIPv4 ? AF_INET : AF_INET6, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failure(Reason("socket: " + errnoText())) }
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        let started = SocketAddresses.with(address, port: port) { Glibc.connect(fd, $0, $1) }
        if started != 0 && errno != EINPROGRESS {
            let reason = errnoText()
            close(fd)
            return .failure(Reason(reason))
        }
        if started != 0 {
            var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&poller, 1, Int32(timeout * 1000))
            if ready <= 0 {
                let reason = ready == 0 ? "timed out after \(Seconds.text(timeout))" : "poll: " + errnoText()
                close(fd)
                return .failure(Reason(reason))
            }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            if error != 0 {
                close(fd)
                return .failure(Reason(String(cString: strerror(error)).lowercased()))
            }
        }
        _ = fcntl(fd, F_SETFL, flags)
        var limit = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        return .success(fd)
    }

    struct Reason: Error {
        let text: String
        init(_ text: String) { self.text = text }
    }
}

/// strerror(errno) in the lower case of the table's other reasons ("connection refused").
func errnoText(_ code: Int32 = errno) -> String {
    String(cString: strerror(code)).lowercased()
}
