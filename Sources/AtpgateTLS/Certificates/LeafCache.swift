import Dispatch
import AtpgateIO

/// The minted leaves, by host and CA, shared by every I/O loop: a bounded least-recently-used cache in
/// front of `LeafMinter`.
///
/// A miss mints on a private serial queue, so the ~0.5 ms of key generation and signing never runs on
/// the asking loop, and a burst of new hosts takes at most one core from the loops; concurrent misses for one host wait on a single mint (a burst of connections to a new
/// host costs one key, and they all present the same leaf). A leaf that expires within `renewalMargin` of
/// `now` counts as a miss, so no client is handed a leaf about to lapse mid-connection.
public final class LeafCache: Sendable {
    /// What a leaf is cached under: a new CA (a policy reload) never serves leaves the old one signed.
    struct Key: Hashable {
        let host: LeafHost
        let caIdentity: String
    }

    /// Someone waiting for a mint: where and what to call.
    struct Waiter {
        let queue: DispatchQueue
        let completion: @Sendable (Result<MintedLeaf, OpenSSLError>) -> Void
    }

    struct Entry {
        let leaf: MintedLeaf
        /// The `State.clock` value of the last hit: the smallest is the least recently used.
        var lastUse: UInt64
    }

    struct State {
        var entries: [Key: Entry] = [:]
        /// Mints under way, with everyone waiting for each.
        var inFlight: [Key: [Waiter]] = [:]
        var clock: UInt64 = 0
        /// Bumped by `removeAll`: a mint started before it is handed to its waiters but not cached.
        var generation: UInt64 = 0
        var minted = 0
    }

    public let capacity: Int
    /// A cached leaf expiring sooner than this after `now` is minted again.
    public let renewalMargin: Int64
    /// A pthread mutex (`Locked`), not Swift's `Mutex`: ThreadSanitizer cannot see the latter's futex on Linux.
    private let state = Locked(State())
    /// Where misses mint: one at a time. A concurrent queue minted a burst of 500 new hosts on every core at
    /// once and starved the I/O loops of CPU (their 1 ms ticks ran 4-10 ms late, `atpgate-bench mint`);
    /// serial, the loops keep the other cores, and one core still mints about 2,000 leaves a second, where
    /// a host needs one per 30 days.
    private let mintQueue = DispatchQueue(label: "atpgate.leaf-mint")

    public init(capacity: Int = 1024, renewalMargin: Int64 = 86400) {
        precondition(capacity > 0, "a leaf cache holds at least one leaf")
        self.capacity = capacity
        self.renewalMargin = renewalMargin
    }

    /// The leaf for `host` under `ca`, delivered to `completion` on `queue` (always asynchronously, hit or
    /// miss). `now` is seconds since the epoch.
    public func leaf(for host: LeafHost, ca: CertificateAuthority, now: Int64, on queue: DispatchQueue,
                     completion: @escaping @Sendable (Result<MintedLeaf, OpenSSLError>) -> Void) {
        let key = Key(host: host, caIdentity: ca.identity)
        let waiter = Waiter(queue: queue, completion: completion)
        enum Next { case hit(MintedLeaf), joined, mint(generation: UInt64) }
        let next: Next = state.withLock { state in
            if let leaf = Self.freshLeaf(key, now: now, margin: renewalMargin, in: &state) { return .hit(leaf) }
            if state.inFlight[key] != nil {
                state.inFlight[key]!.append(waiter)
                return .joined
            }
            state.inFlight[key] = [waiter]
            return .mint(generation: state.generation)
        }
        switch next {
        case .hit(let leaf):
            queue.async { completion(.success(leaf)) }
        case .joined:
            break
        case .mint(let generation):
            mintQueue.async {
                let result = Result { () throws(OpenSSLError) -> MintedLeaf in try LeafMinter.mint(for: host, by: ca, now: now) }
                self.finish(key, generation: generation, result: result)
            }
        }
    }

    /// The cached leaf for `host` under `ca` if there is one not due for renewal at `now` (counts as a use).
    public func cachedLeaf(for host: LeafHost, ca: CertificateAuthority, now: Int64) -> MintedLeaf? {
        state.withLock { Self.freshLeaf(Key(host: host, caIdentity: ca.identity), now: now, margin: renewalMargin, in: &$0) }
    }

    /// Forgets every cached leaf (the CA changed on a policy reload). Mints under way still answer their
    /// waiters but are not cached.
    public func removeAll() {
        state.withLock { state in
            state.entries.removeAll()
            state.generation &+= 1
        }
    }

    /// Leaves cached now.
    public var count: Int { state.withLock { $0.entries.count } }

    /// Leaves minted successfully since the cache was made (for tests and metrics).
    public var mintedCount: Int { state.withLock { $0.minted } }

    // MARK: Inside the lock

    /// The entry for `key` marked as just used, or nil (and the entry dropped) when it is missing or expires
    /// within `margin` of `now`.
    private static func freshLeaf(_ key: Key, now: Int64, margin: Int64, in state: inout State) -> MintedLeaf? {
        guard let entry = state.entries[key] else { return nil }
        guard entry.leaf.notAfter - now > margin else {
            state.entries[key] = nil
            return nil
        }
        state.clock &+= 1
        state.entries[key]!.lastUse = state.clock
        return entry.leaf
    }

    /// Stores a minted leaf (evicting the least recently used one when full) and answers everyone waiting.
    private func finish(_ key: Key, generation: UInt64, result: Result<MintedLeaf, OpenSSLError>) {
        let waiters = state.withLock { state in
            if case .success(let leaf) = result {
                state.minted += 1
                if generation == state.generation {
                    if state.entries[key] == nil && state.entries.count >= capacity { Self.evictLeastRecentlyUsed(&state) }
                    state.clock &+= 1
                    state.entries[key] = Entry(leaf: leaf, lastUse: state.clock)
                }
            }
            return state.inFlight.removeValue(forKey: key) ?? []
        }
        for waiter in waiters {
            waiter.queue.async { waiter.completion(result) }
        }
    }

    /// Drops the entry used longest ago. A linear scan: it runs only on a miss, whose mint costs far more
    /// than scanning even a thousand entries, and it keeps the cache a plain dictionary.
    private static func evictLeastRecentlyUsed(_ state: inout State) {
        guard let oldest = state.entries.min(by: { $0.value.lastUse < $1.value.lastUse })?.key else { return }
        state.entries[oldest] = nil
    }
}
