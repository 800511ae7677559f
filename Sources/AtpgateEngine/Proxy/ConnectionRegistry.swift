import Synchronization
import AtpgateIO

/// Live connections, so shutdown (and later `on_reload: cut-denied`) can reach every one of them
/// on its own loop. The table is behind a mutex; the count is atomic for cheap reads.
final class ConnectionRegistry: Sendable {
    private let table = Locked<[Int: ProxyConnection]>([:])
    private let live = Atomic<Int>(0)
    private let nextID = Atomic<Int>(1)

    var count: Int { live.load(ordering: .relaxed) }

    func makeID() -> Int {
        nextID.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    func add(_ connection: ProxyConnection) {
        table.withLock { $0[connection.id] = connection }
        live.wrappingAdd(1, ordering: .relaxed)
    }

    func remove(_ connection: ProxyConnection) {
        let removed = table.withLock { $0.removeValue(forKey: connection.id) != nil }
        if removed { live.wrappingSubtract(1, ordering: .relaxed) }
    }

    /// Runs `body` for every live connection, each on its own loop's queue.
    func forEach(_ body: @escaping @Sendable (ProxyConnection) -> Void) {
        let snapshot = table.withLock { Array($0.values) }
        for connection in snapshot {
            connection.loop.queue.async { body(connection) }
        }
    }
}
