import AtpgateNet

/// Networks keyed by prefix length, then by masked address. A lookup probes one hash
/// table per distinct prefix length in use (at most 33 or 129), independent of how many
/// networks were inserted.
struct PrefixTable<Value: Sendable>: Sendable {
    private var v4: [(length: Int, entries: [IPAddress: Value])] = []
    private var v6: [(length: Int, entries: [IPAddress: Value])] = []

    var isEmpty: Bool { v4.isEmpty && v6.isEmpty }

    /// Inserts or merges: `update` receives the existing value for an identical network.
    mutating func insert(_ network: IPNetwork, update: (inout Value?) -> Void) {
        if network.address.isIPv4 {
            PrefixTable.insert(network, into: &v4, update: update)
        } else {
            PrefixTable.insert(network, into: &v6, update: update)
        }
    }

    private static func insert(_ network: IPNetwork, into levels: inout [(length: Int, entries: [IPAddress: Value])],
                               update: (inout Value?) -> Void) {
        let slot: Int
        if let found = levels.firstIndex(where: { $0.length == network.prefixLength }) {
            slot = found
        } else {
            levels.append((network.prefixLength, [:]))
            levels.sort { $0.length > $1.length }   // longest prefix first
            slot = levels.firstIndex { $0.length == network.prefixLength }!
        }
        update(&levels[slot].entries[network.address])
    }

    /// Calls `body` for every stored network containing `address`, longest prefix first.
    func forEachMatch(_ address: IPAddress, _ body: (IPNetwork, Value) -> Void) {
        for level in address.isIPv4 ? v4 : v6 {
            let key = IPNetwork.mask(address, level.length)
            if let value = level.entries[key] {
                body(IPNetwork(address: key, prefixLength: level.length), value)
            }
        }
    }
}
