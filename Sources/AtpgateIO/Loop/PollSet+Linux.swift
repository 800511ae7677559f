#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import CAtpgateSys

/// The readiness of every socket on one loop: one epoll set, watched by one Dispatch read source on
/// the epoll descriptor (itself pollable) that lives as long as the loop. Confined to the loop's queue.
///
/// Why not a Dispatch source per socket: libdispatch's Linux backend crashes in its epoll bookkeeping
/// when per-descriptor sources are created and cancelled at a high rate (swift-corelibs-libdispatch
/// #833, #949; a soak of short tunnels died in `_dispatch_source_refs_finalize_unregistration`). Here
/// libdispatch sees one long-lived source per loop whatever the churn, and each socket costs one
/// `epoll_ctl` to add and one to remove: registered once, edge-triggered for input, output and peer
/// half-close, never re-armed, no `fstat`/`FIONREAD` per event. Nothing blocks in
/// `epoll_wait`: the source fires when the set has events, and the handler drains them with a zero
/// timeout.
final class PollSet: @unchecked Sendable {
    private let epollFD: Int32
    private let source: DispatchSourceRead
    private var channels: [UInt64: SocketChannel] = [:]
    private var nextToken: UInt64 = 1
    private var tokens = [UInt64](repeating: 0, count: PollSet.batch)
    private var ready = [UInt32](repeating: 0, count: PollSet.batch)
    /// True while `drain` hands out events: half-closes asked for meanwhile wait in `shutdowns`.
    private var draining = false
    private var shutdowns: [SocketChannel] = []

    static let batch = 128

    init(queue: DispatchQueue) {
        let fd = atpgate_epoll_create()
        precondition(fd >= 0, "epoll_create1 failed: \(String(cString: strerror(errno)))")
        epollFD = fd
        source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        // The descriptor is closed only once Dispatch has let go of it.
        source.setCancelHandler { _ = Glibc.close(fd) }
        // Weak: a loop dropped in a test may still have a wake-up queued behind its cancel.
        source.setEventHandler { [weak self] in self?.drain() }
        source.resume()
    }

    deinit {
        source.cancel()
    }

    /// Number of sockets in the set (for tests and statistics).
    var count: Int { channels.count }

    /// Adds `channel`'s socket; returns its token, or nil when epoll refuses it (the channel then
    /// reports the socket as ready at once, so its owner meets the error on its next call).
    func add(_ channel: SocketChannel) -> UInt64? {
        let token = nextToken
        nextToken &+= 1
        guard atpgate_epoll_add(epollFD, channel.socket.fd, token) == 0 else { return nil }
        channels[token] = channel
        return token
    }

    /// Removes a socket before its descriptor is closed (`EPOLL_CTL_DEL`, as the design asks: a
    /// registration never outlives the descriptor it was made for, even if a forked child still held a
    /// copy of it). Events of the token still in a batch find no channel and are dropped; tokens are
    /// never reused. (Leaving the removal to `close` would save one syscall per socket; measured at
    /// about 2 of 24 per short tunnel.)
    func remove(token: UInt64, fd: Int32) {
        _ = atpgate_epoll_del(epollFD, fd)
        channels[token] = nil
    }

    /// A half-close asked for while events are handed out waits until the end of the batch: a tunnel
    /// that half-closes one side on end of stream and then finds both directions done closes that
    /// socket in the same handler, and `close` sends the FIN itself, so the `shutdown` call is saved.
    /// False when no batch is being handled: the caller shuts down at once.
    func deferShutdown(of channel: SocketChannel) -> Bool {
        guard draining else { return false }
        shutdowns.append(channel)
        return true
    }

    /// Runs on the loop's queue when the set has events: hands each to its channel, in batches,
    /// until the set is empty. Tokens are never reused, so an event of a socket closed earlier in the
    /// same batch finds no channel.
    ///
    /// It polls again after every non-empty batch, not only after a full one: each return to
    /// Dispatch with events pending costs a whole libdispatch round trip (the manager thread's
    /// `epoll_wait`, a futex hand-off to a worker, an eventfd poke and two `epoll_ctl` to disarm and
    /// re-arm the source), where one more `epoll_wait(0)` here costs one syscall. Handling a batch
    /// queues events of its own: a socket added to the set is reported at once (it is writable, and
    /// often already readable, though its first read has drained it), and peers on loopback answer
    /// within microseconds. The rounds are bounded so timers and queued work still get their turn;
    /// events left over keep the epoll descriptor readable, so the source fires again.
    private func drain() {
        for _ in 0..<PollSet.maxRounds {
            let count = Int(atpgate_epoll_poll(epollFD, &tokens, &ready, Int32(PollSet.batch)))
            if count <= 0 { return }
            draining = true
            for index in 0..<count {
                let token = tokens[index]
                let bits = ready[index]
                channels[token]?.ready(bits)
            }
            draining = false
            // Before the next poll: a peer only answers a FIN it has been sent.
            if !shutdowns.isEmpty { flushShutdowns() }
        }
    }

    private func flushShutdowns() {
        let pending = shutdowns
        shutdowns.removeAll(keepingCapacity: true)
        for channel in pending { channel.finishShutdown() }
    }

    static let maxRounds = 8
}
