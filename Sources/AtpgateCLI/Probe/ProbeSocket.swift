#if canImport(Glibc)
import Glibc
#endif
import AtpgateNet
import AtpgateIO

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

    private let socket: Socket
    private let deadline: ContinuousClock.Instant
    private var fd: Int32 { socket.fd }

    /// Resolves `host` (an IP literal or a name, both families) and connects to the first address that
    /// accepts before the deadline. Name resolution itself cannot be interrupted.
    init(host: String, port: UInt16, deadline: ContinuousClock.Instant) throws(Failure) {
        self.deadline = deadline
        let addresses: [IPAddress]
        if let literal = IPAddress(host) {
            addresses = [literal]   // no lookup: works in a container with nothing but loopback
        } else {
            switch AddressLookup.tcpAddresses(of: host) {
            case .success(let found): addresses = found
            case .failure(let failure): throw Failure(step: "resolve", reason: failure.reason)
            }
        }
        var lastFailure = Failure(step: "connect", reason: "no addresses")
        for address in addresses {
            do {
                socket = try Socket.connect(to: SocketAddress(ip: address, port: port), before: deadline)
                return
            } catch where error.errno == ETIMEDOUT {
                // The deadline covers every address: once it has passed, the next would time out at once.
                throw .timedOut("connect")
            } catch {
                lastFailure = Failure(step: "connect", reason: Self.text(error.errno))
            }
        }
        throw lastFailure
    }

    deinit { socket.close() }

    /// Sends all of `bytes`.
    func send(_ bytes: [UInt8]) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent >= 0 { offset += sent; continue }
            let error = errno
            if error == EINTR { continue }
            guard error == EAGAIN || error == EWOULDBLOCK else { throw Failure(step: "send", reason: Self.text(error)) }
            if let failure = wait(for: Int16(POLLOUT), step: "send") { throw failure }
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
            if let failure = wait(for: Int16(POLLIN), step: "response") { throw failure }
        }
    }

    /// Polls until `events` or the deadline; nil when ready (errors show up in the next call).
    private func wait(for events: Int16, step: String) -> Failure? {
        do {
            return try socket.wait(for: events, before: deadline) ? nil : .timedOut(step)
        } catch {
            return Failure(step: step, reason: Self.text(error.errno))
        }
    }

    private static func text(_ error: Int32) -> String { String(cString: strerror(error)) }
}
