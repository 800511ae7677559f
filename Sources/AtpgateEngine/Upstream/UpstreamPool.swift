import AtpgateNet
import AtpgatePolicy
import AtpgateIO

/// Idle upstream connections of plain HTTP, kept for the next request to the same origin (CRL fetches
/// come in bursts). One pool per loop, because a channel belongs to its loop. Confined to `loop.queue`.
///
/// What keeps it safe:
/// - A connection is keyed by (host, port, vetted address). Only a request that was decided, resolved
///   and vetted under the policy in force asks for one, and only for an address it just vetted, so a
///   pooled connection never carries a request the policy denies.
/// - It comes back only after a response read to its framed end with nothing left over, and never with
///   a request in flight (no pipelining upstream): the caller decides that (`HTTPExchange`).
/// - While idle it is watched: any byte or end of stream from the server closes it (a server that
///   times out its keep-alive, or one sending unasked bytes), and a read just before it is handed out
///   catches a close still on its way.
/// - Bounded per origin and per loop (the oldest goes first), expired after `timeouts.upstream_keepalive`,
///   swept on reload (`sweep`) and emptied on shutdown.
final class UpstreamPool: @unchecked Sendable {
    struct Key: Hashable {
        let host: Host
        let port: UInt16
        let address: SocketAddress
    }

    private struct Entry {
        let channel: SocketChannel
        let key: Key
        /// The last request it carried: a reload decides it again (`sweep`).
        let lastUse: DecisionRequest
        let expires: UInt64
    }

    private let loop: IOLoop
    private let loopCount: Int
    private let expiry: Deadline
    /// Oldest first; small (bounded by the limits), so linear scans beat any index.
    private var idle: [Entry] = []
    /// Shutdown emptied the pool: a response finishing during the grace period closes its connection.
    private var shutDown = false

    init(loop: IOLoop, loopCount: Int) {
        self.loop = loop
        self.loopCount = max(1, loopCount)
        self.expiry = Deadline(loop: loop)
    }

    var count: Int { idle.count }

    /// An idle connection to `host`:`port` at one of `addresses` (in the caller's order of preference),
    /// checked alive, or nil. The caller owns it from here on.
    func take(host: Host, port: UInt16, addresses: [SocketAddress]) -> (SocketChannel, SocketAddress)? {
        loop.assertOnQueue()
        for address in addresses {
            let key = Key(host: host, port: port, address: address)
            while let index = idle.lastIndex(where: { $0.key == key }) {
                let entry = idle.remove(at: index)
                if isQuiet(entry.channel) {
                    entry.channel.pauseReading()
                    return (entry.channel, address)
                }
                entry.channel.close()
            }
        }
        return nil
    }

    /// Keeps `channel` for later, within `policy`'s limits; closes it when the pool is off or the oldest
    /// connection had to make room and this one is the oldest.
    func put(_ channel: SocketChannel, key: Key, lastUse: DecisionRequest, policy: Policy) {
        loop.assertOnQueue()
        let perOrigin = policy.limits.upstreamKeepAlivePerOrigin
        let total = policy.limits.upstreamKeepAliveTotal
        let perLoop = total == 0 ? 0 : (total + loopCount - 1) / loopCount
        guard perOrigin > 0, perLoop > 0, !shutDown, !channel.isClosed else {
            channel.close()
            return
        }
        let sameOrigin = { (entry: Entry) in entry.key.host == key.host && entry.key.port == key.port }
        var originCount = idle.count(where: sameOrigin)
        while originCount >= perOrigin, let oldest = idle.firstIndex(where: sameOrigin) {
            idle.remove(at: oldest).channel.close()
            originCount -= 1
        }
        while idle.count >= perLoop {
            idle.removeFirst().channel.close()
        }
        let expires = monotonicNanos() &+ UInt64(policy.timeouts.upstreamKeepAlive * 1e9)
        idle.append(Entry(channel: channel, key: key, lastUse: lastUse, expires: expires))
        channel.stopAwaitingWritable()
        // Idle means silent: anything the server sends now (its close, stray bytes) retires the connection.
        channel.setReadHandler { [weak self, unowned channel] in self?.watch(channel) }
        scheduleExpiry()
    }

    /// After a reload: closes every idle connection whose last request the new policy refuses, or whose
    /// address it no longer vets.
    func sweep(_ policy: Policy, selfAddresses: SelfAddresses) {
        loop.assertOnQueue()
        let admission = Admission(policy: policy, selfAddresses: selfAddresses)
        idle.removeAll { entry in
            let use = entry.lastUse
            guard admission.recheck(client: use.client, host: use.host, port: use.port, kind: use.kind,
                                    addresses: [entry.key.address.ip]) != nil else { return false }
            entry.channel.close()
            return true
        }
        scheduleExpiry()
    }

    /// Shutdown: closes everything, and takes nothing back from now on.
    func closeAll() {
        loop.assertOnQueue()
        shutDown = true
        for entry in idle { entry.channel.close() }
        idle = []
        expiry.cancel()
    }

    // MARK: Private

    /// A read that would block: the server has neither closed nor sent anything.
    private func isQuiet(_ channel: SocketChannel) -> Bool {
        switch Result(catching: { () throws(SocketError) in try channel.read(into: loop.scratch) }) {
        case .success(nil): return true
        default: return false
        }
    }

    private func watch(_ channel: SocketChannel) {
        guard let index = idle.firstIndex(where: { $0.channel === channel }) else { return }
        if isQuiet(channel) { return }
        idle.remove(at: index)
        channel.close()
    }

    private func scheduleExpiry() {
        guard let earliest = idle.map(\.expires).min() else {
            expiry.disarm()
            return
        }
        let now = monotonicNanos()
        let seconds = earliest > now ? Double(earliest - now) / 1e9 : 0
        expiry.arm(after: seconds) { [weak self] in self?.expire() }
    }

    private func expire() {
        let now = monotonicNanos()
        idle.removeAll { entry in
            guard entry.expires <= now else { return false }
            entry.channel.close()
            return true
        }
        scheduleExpiry()
    }
}

/// One pool per loop, fixed when the proxy starts.
final class UpstreamPools: Sendable {
    private let pools: [ObjectIdentifier: UpstreamPool]

    init(loops: [IOLoop]) {
        var pools: [ObjectIdentifier: UpstreamPool] = [:]
        for loop in loops { pools[ObjectIdentifier(loop)] = UpstreamPool(loop: loop, loopCount: loops.count) }
        self.pools = pools
        self.loops = loops
    }

    private let loops: [IOLoop]

    /// The pool of `loop`; use it only on that loop's queue.
    func pool(for loop: IOLoop) -> UpstreamPool? {
        pools[ObjectIdentifier(loop)]
    }

    /// Each loop sweeps its own pool on its own queue.
    func sweep(_ policy: Policy, selfAddresses: SelfAddresses) {
        for loop in loops {
            loop.queue.async { [self] in pool(for: loop)?.sweep(policy, selfAddresses: selfAddresses) }
        }
    }

    func closeAll() {
        for loop in loops {
            loop.queue.async { [self] in pool(for: loop)?.closeAll() }
        }
    }

    /// Idle connections in all pools (for tests and diagnostics; reads each loop's count on its queue).
    func idleCount() -> Int {
        loops.reduce(0) { sum, loop in sum + loop.queue.sync { pool(for: loop)?.count ?? 0 } }
    }
}
