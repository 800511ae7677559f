import Dispatch
import Synchronization

/// Live connections, per loop, so shutdown (and later `on_reload: cut-denied`) can reach them.
/// Each loop's table is touched only on that loop's queue; the count is atomic for anyone.
final class ConnectionRegistry: @unchecked Sendable {
    private var tables: [ObjectIdentifier: [Int: ProxyConnection]] = [:]  // guarded by `lock`
    private let lock = Mutex(())
    private let live = Atomic<Int>(0)
    private let nextID = Atomic<Int>(1)

    var count: Int { live.load(ordering: .relaxed) }

    func makeID() -> Int {
        nextID.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    func add(_ connection: ProxyConnection) {
        lock.withLock { _ in tables[ObjectIdentifier(connection.loop), default: [:]][connection.id] = connection }
        live.wrappingAdd(1, ordering: .relaxed)
    }

    func remove(_ connection: ProxyConnection) {
        let removed = lock.withLock { _ in
            tables[ObjectIdentifier(connection.loop)]?.removeValue(forKey: connection.id) != nil
        }
        if removed { live.wrappingSubtract(1, ordering: .relaxed) }
    }

    /// Runs `body` for every live connection, each on its own loop's queue.
    func forEach(_ body: @escaping @Sendable (ProxyConnection) -> Void) {
        let snapshot = lock.withLock { _ in tables.values.flatMap { $0.values } }
        for connection in snapshot {
            connection.loop.queue.async { body(connection) }
        }
    }
}
