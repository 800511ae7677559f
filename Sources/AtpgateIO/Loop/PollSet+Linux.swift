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
/// half-close, never re-armed, no `fstat`/`FIONREAD` per event. Nothing blocks in `epoll_wait`: the
/// source fires when the set has events, and the handler drains them with a zero timeout.
final class PollSet: @unchecked Sendable {
    private let epollFD: Int32
    private let source: DispatchSourceRead
    private var channels: [UInt64: SocketChannel] = [:]
    private var nextToken: UInt64 = 1
    private var tokens = [UInt64](repeating: 0, count: PollSet.batch)
    private var ready = [UInt32](repeating: 0, count: PollSet.batch)

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

    /// Removes a socket before its descriptor is closed. Events of the token still in a batch are dropped.
    func remove(token: UInt64, fd: Int32) {
        _ = atpgate_epoll_del(epollFD, fd)
        channels[token] = nil
    }

    /// Runs on the loop's queue when the set has events: hands each to its channel, in batches,
    /// until the set is empty. Tokens are never reused, so an event of a socket closed earlier in the
    /// same batch finds no channel.
    private func drain() {
        while true {
            let count = Int(atpgate_epoll_poll(epollFD, &tokens, &ready, Int32(PollSet.batch)))
            if count <= 0 { return }
            for index in 0..<count {
                let token = tokens[index]
                let bits = ready[index]
                channels[token]?.ready(bits)
            }
            if count < PollSet.batch { return }
        }
    }
}
