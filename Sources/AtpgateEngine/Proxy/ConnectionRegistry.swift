import Synchronization
import AtpgateNet
import AtpgatePolicy
import AtpgateIO

/// Live connections, so shutdown (and `on_reload: cut-denied`) can reach every one of them on its own
/// loop, and the connection limits (`limits.max_connections`, `limits.max_connections_per_client`).
/// The table and the per-client counts are behind one mutex, taken once when a connection starts and
/// once when it closes; the live count is atomic for cheap reads.
final class ConnectionRegistry: Sendable {
    private struct Table {
        var connections: [Int: ProxyConnection] = [:]
        /// Connections holding a slot (admitted under the limits), in all and per client address.
        var admitted = 0
        var perClient: [IPAddress: Int] = [:]
    }

    private let table = Locked(Table())
    private let live = Atomic<Int>(0)
    private let nextID = Atomic<Int>(1)

    var count: Int { live.load(ordering: .relaxed) }

    func makeID() -> Int {
        nextID.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    /// Registers `connection` and, within `limits`, gives it a slot; nil when it may go on, else the limit
    /// it is over. A refused connection is registered too (it still answers and closes) but holds no slot,
    /// so refusals never push a client, or the proxy, further over its limit.
    func add(_ connection: ProxyConnection, client: IPAddress, limits: Limits) -> DenialReason? {
        let refusal: DenialReason? = table.withLock { table in
            table.connections[connection.id] = connection
            if let max = limits.maxConnections, table.admitted >= max { return .proxyFull }
            let fromClient = table.perClient[client, default: 0]
            if let max = limits.maxConnectionsPerClient, fromClient >= max { return .clientLimit }
            table.admitted += 1
            table.perClient[client] = fromClient + 1
            connection.holdsSlot = true
            return nil
        }
        live.wrappingAdd(1, ordering: .relaxed)
        return refusal
    }

    func remove(_ connection: ProxyConnection, client: IPAddress) {
        let removed = table.withLock { table in
            guard table.connections.removeValue(forKey: connection.id) != nil else { return false }
            if connection.holdsSlot {
                table.admitted -= 1
                let left = table.perClient[client, default: 1] - 1
                table.perClient[client] = left > 0 ? left : nil
            }
            return true
        }
        if removed { live.wrappingSubtract(1, ordering: .relaxed) }
    }

    /// Runs `body` for every live connection, each on its own loop's queue.
    func forEach(_ body: @escaping @Sendable (ProxyConnection) -> Void) {
        let snapshot = table.withLock { Array($0.connections.values) }
        for connection in snapshot {
            connection.loop.queue.async { body(connection) }
        }
    }
}
