#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Logging
import AtpgateIO

/// A listening socket whose accept source hands each connection to the next loop.
///
/// On EMFILE/ENFILE (no descriptor left) the listener stops watching for a moment and tries again:
/// the pending connection stays in the backlog, and the proxy neither spins nor stops serving.
final class Listener: @unchecked Sendable {
    let address: SocketAddress
    private let channel: SocketChannel
    private let loop: IOLoop
    private let onAccept: (Socket, SocketAddress) -> Void
    private let logger: Logger
    private var backingOff = false
    /// Whether accepted sockets carry the listener's TCP_NODELAY (Linux copies it on accept), so the
    /// connection's `setNoDelay` costs no syscall. nil until the first accepted socket was asked.
    private var acceptedHaveNoDelay: Bool?

    /// Binds and listens; throws with the address in the message on failure. With `reusePort`, one
    /// listener per loop shares the address (SO_REUSEPORT): the kernel spreads connections over the
    /// loops and each is accepted on the queue that will serve it, with no hand-off.
    init(address: SocketAddress, loop: IOLoop, reusePort: Bool, logger: Logger,
         onAccept: @escaping (Socket, SocketAddress) -> Void) throws(SocketError) {
        let socket = try Socket.makeTCP(family: address.family)
        do {
            try socket.setOption(level: SOL_SOCKET, name: SO_REUSEADDR, value: 1)
            if reusePort { try socket.setOption(level: SOL_SOCKET, name: SO_REUSEPORT, value: 1) }
            if !address.ip.isIPv4 {
                // [::]:port must not also claim 0.0.0.0:port: both are listed explicitly when wanted.
                try socket.setOption(level: Int32(IPPROTO_IPV6), name: IPV6_V6ONLY, value: 1)
            }
            // Accepted sockets inherit it: one setsockopt here instead of one per connection. Best
            // effort: without it, each connection sets its own (see `acceptPending`).
            try? socket.setOption(level: Int32(IPPROTO_TCP), name: TCP_NODELAY, value: 1)
            try socket.bind(address)
            try socket.listen(backlog: 4096)
        } catch {
            socket.close()
            throw error
        }
        self.address = socket.localAddress ?? address
        self.channel = SocketChannel(socket: socket, loop: loop)
        self.loop = loop
        self.logger = logger
        self.onAccept = onAccept
    }

    /// Checks that nobody listens on `address` yet (a probe bound without SO_REUSEPORT, so an
    /// older atpgate's listeners cannot silently share the port with ours) and returns the port to
    /// use (the one the kernel picked when `address` asks for port 0).
    static func claimPort(_ address: SocketAddress) throws(SocketError) -> UInt16 {
        let probe = try Socket.makeTCP(family: address.family)
        defer { probe.close() }
        try probe.setOption(level: SOL_SOCKET, name: SO_REUSEADDR, value: 1)
        if !address.ip.isIPv4 { try probe.setOption(level: Int32(IPPROTO_IPV6), name: IPV6_V6ONLY, value: 1) }
        try probe.bind(address)
        return probe.localAddress?.port ?? address.port
    }

    func start() {
        loop.queue.async { [self] in
            channel.setReadHandler { [self] in acceptPending() }
        }
    }

    func stop() {
        loop.queue.async { [self] in channel.close() }
    }

    private func acceptPending() {
        guard !channel.isClosed, !backingOff else { return }
        // Accept until the backlog is empty (the handler must drain, see Pump.readable), in bounded
        // batches so one busy listener does not starve the loop's connections.
        for _ in 0..<64 {
            do {
                guard let (accepted, peer) = try channel.socket.accept(noDelayInherited: acceptedHaveNoDelay ?? false)
                else { return }
                guard let peer else { accepted.close(); continue }
                var socket = accepted
                if acceptedHaveNoDelay == nil {
                    // Asked once, of the first connection, rather than assumed of every kernel.
                    let inherited = socket.isNoDelayOn
                    acceptedHaveNoDelay = inherited
                    if inherited { socket = Socket(fd: socket.fd, noDelayKnown: true) }
                }
                onAccept(socket, peer)
            } catch {
                if error.errno == EMFILE || error.errno == ENFILE || error.errno == ENOBUFS || error.errno == ENOMEM {
                    backOff(error)
                } else {
                    logger.warning("accept on \(address) failed: \(error)")
                }
                return
            }
        }
        loop.queue.async { [self] in acceptPending() }
    }

    private func backOff(_ error: SocketError) {
        guard !backingOff else { return }
        backingOff = true
        logger.warning("accept on \(address): \(error); pausing accepts for 100ms")
        channel.pauseReading()
        loop.queue.asyncAfter(deadline: .now() + .milliseconds(100)) { [self] in
            backingOff = false
            guard !channel.isClosed else { return }
            channel.resumeReading()
            // The connections that hit the limit are still queued, and no new edge announces them.
            acceptPending()
        }
    }
}
