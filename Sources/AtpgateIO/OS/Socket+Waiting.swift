#if canImport(Glibc)
import Glibc
#endif

/// Waiting on one socket with poll(2) against a deadline: for the one-shot commands (`doctor`, `probe`),
/// which have no loop. The proxy itself never waits on a socket.
extension Socket {
    /// A new socket connected to `address`, or the reason it is not by `deadline` (a time-out is
    /// `ETIMEDOUT`). The socket stays non-blocking; the caller closes it.
    public static func connect(to address: SocketAddress, before deadline: ContinuousClock.Instant) throws(SocketError) -> Socket {
        let socket = try makeTCP(family: address.family)
        do throws(SocketError) {
            if try !socket.startConnect(to: address) {
                guard try socket.wait(for: Int16(POLLOUT), before: deadline) else {
                    throw SocketError("connect \(address)", errno: ETIMEDOUT)
                }
                let error = socket.pendingError
                if error != 0 { throw SocketError("connect \(address)", errno: error) }
            }
            return socket
        } catch {
            socket.close()
            throw error
        }
    }

    /// Polls until `events` (POLLIN, POLLOUT) or `deadline`; false when the deadline passed. An error on
    /// the socket counts as ready: the next call on it reports it.
    public func wait(for events: Int16, before deadline: ContinuousClock.Instant) throws(SocketError) -> Bool {
        while true {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { return false }
            // Rounded up, so a sub-millisecond remainder still waits instead of spinning.
            let milliseconds = min(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1,
                                   Int64(Int32.max))
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&entry, 1, Int32(milliseconds))
            if ready > 0 { return true }
            if ready < 0 && errno != EINTR { throw SocketError("poll") }
        }
    }
}
