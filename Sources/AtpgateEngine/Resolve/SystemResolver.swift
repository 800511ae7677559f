#if canImport(Glibc)
import Glibc
#endif
import Foundation
import AtpgateNet
import AtpgateIO

/// The default resolver: getaddrinfo on a dedicated, bounded set of threads.
///
/// - Never on the I/O queues: a getaddrinfo that times out keeps its thread, and a blocked I/O
///   queue would stall every connection on it.
/// - Concurrent lookups of one name share one getaddrinfo call.
/// - A short positive and negative cache: the ATP service's addresses change, so seconds, not minutes.
/// - When `maxPending` lookups are queued, new names are refused at once with `.busy` (-> 504).
public final class SystemResolver: Resolver, @unchecked Sendable {
    public struct Configuration: Sendable {
        public var threads = 4
        public var maxPending = 256
        public var positiveTTL: Double = 10
        public var negativeTTL: Double = 2
        public init() {}
    }

    private typealias Completion = @Sendable (Result<[IPAddress], ResolveError>) -> Void

    private struct CacheEntry {
        let expires: UInt64
        let result: Result<[IPAddress], ResolveError>
    }

    private struct State {
        var queue: [String] = []
        var waiters: [String: [Completion]] = [:]
        var cache: [String: CacheEntry] = [:]
        var stopped = false
    }

    /// The blocking lookup the worker threads run: getaddrinfo, or a stand-in in tests.
    public typealias Lookup = @Sendable (String) -> Result<[IPAddress], ResolveError>

    private let configuration: Configuration
    private let lookup: Lookup
    private let state = Locked(State())
    private let wakeup = NSCondition()
    private var threads: [Thread] = []

    public init(configuration: Configuration = Configuration(), lookup: @escaping Lookup = SystemResolver.getaddrinfo) {
        self.configuration = configuration
        self.lookup = lookup
        for index in 0..<max(1, configuration.threads) {
            let thread = Thread { [self] in workerLoop() }
            thread.name = "atpgate.resolver.\(index)"
            thread.start()
            threads.append(thread)
        }
    }

    public func resolve(_ name: String, completion: @escaping @Sendable (Result<[IPAddress], ResolveError>) -> Void) {
        let now = monotonicNanos()
        enum Outcome { case cached(Result<[IPAddress], ResolveError>), joined, queued, busy }
        let outcome: Outcome = state.withLock { state in
            if let entry = state.cache[name] {
                if entry.expires > now { return .cached(entry.result) }
                state.cache[name] = nil
            }
            if state.waiters[name] != nil {
                state.waiters[name]!.append(completion)
                return .joined
            }
            guard state.queue.count < configuration.maxPending, !state.stopped else { return .busy }
            state.waiters[name] = [completion]
            state.queue.append(name)
            return .queued
        }
        switch outcome {
        case .cached(let result): completion(result)
        case .busy: completion(.failure(.busy))
        case .joined: break
        case .queued:
            wakeup.lock()
            wakeup.signal()
            wakeup.unlock()
        }
    }

    /// Lets the worker threads end (they finish the lookup in hand first).
    public func stop() {
        state.withLock { $0.stopped = true }
        wakeup.lock()
        wakeup.broadcast()
        wakeup.unlock()
    }

    private func workerLoop() {
        while true {
            wakeup.lock()
            var name: String?
            while true {
                let (next, stopped): (String?, Bool) = state.withLock { state in
                    (state.queue.isEmpty ? nil : state.queue.removeFirst(), state.stopped)
                }
                if let next { name = next; break }
                if stopped { wakeup.unlock(); return }
                wakeup.wait()
            }
            wakeup.unlock()
            guard let name else { continue }
            let result = lookup(name)
            let ttl: Double
            if case .success = result { ttl = configuration.positiveTTL } else { ttl = configuration.negativeTTL }
            let expires = monotonicNanos() + UInt64(ttl * 1e9)
            let waiters: [Completion] = state.withLock { state in
                state.cache[name] = CacheEntry(expires: expires, result: result)
                if state.cache.count > 4096 { state.cache.removeAll(keepingCapacity: true) }
                return state.waiters.removeValue(forKey: name) ?? []
            }
            for waiter in waiters { waiter(result) }
        }
    }

    /// One blocking getaddrinfo for TCP addresses of both families, deduplicated in answer order.
    public static func getaddrinfo(_ name: String) -> Result<[IPAddress], ResolveError> {
        AddressLookup.tcpAddresses(of: name).mapError { .notFound($0.reason) }
    }
}
