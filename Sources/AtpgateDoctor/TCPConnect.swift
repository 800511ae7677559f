#if canImport(Glibc)
import Glibc
#endif
import AtpgateNet
import AtpgateIO

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
            let text = SocketAddress(ip: address, port: port).description
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
        let socket: Socket
        do {
            socket = try Socket.connect(to: SocketAddress(ip: address, port: port), before: .now + .seconds(timeout))
        } catch {
            return .failure(Reason(error.errno == ETIMEDOUT ? "timed out after \(Seconds.text(timeout))" : errnoText(error.errno)))
        }
        // Blocking again, for OpenSSL, with time-outs on every read and write.
        let fd = socket.fd
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
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
