/// One loop's counters: plain integers, written only on that loop's queue (hence `@unchecked Sendable`),
/// so counting costs an add and no lock or shared atomic on the data path. A scrape reads each loop's
/// counters on its own queue (`snapshot`) and sums them (`ProxyMetrics`).
final class LoopCounters: @unchecked Sendable {
    // The relay's paths (tests and docs/benchmarks.md read them through `ProxyServer.statistics`).
    var pipesCreated = 0
    var pipeFallbacks = 0
    var bytesSpliced = 0
    var bytesCopied = 0

    private(set) var bytes = [UInt64](repeating: 0, count: ByteDirection.allCases.count)
    private(set) var requests = [UInt64](repeating: 0, count: RequestKindLabel.allCases.count * DecisionLabel.allCases.count)
    private(set) var denials = [UInt64](repeating: 0, count: DenialReason.allCases.count)
    private(set) var peeks = [UInt64](repeating: 0, count: PeekResult.allCases.count)
    private(set) var handshakes = [UInt64](repeating: 0, count: HandshakeLeg.allCases.count * HandshakeResult.allCases.count)
    /// CONNECT tunnels whose `200` went out and whose line is not written yet.
    var activeTunnels = 0

    init() {}

    func add(_ count: Int, _ direction: ByteDirection) {
        bytes[direction.ordinal] &+= UInt64(truncatingIfNeeded: count)
    }

    /// One access-log line: its kind and decision, and its refusal reason if it was refused on purpose.
    func count(_ kind: RequestKindLabel, decision: String, token: String?) {
        let decisionLabel = DecisionLabel(logged: decision)
        requests[Self.index(kind) * DecisionLabel.allCases.count + Self.index(decisionLabel)] &+= 1
        if let reason = DenialReason.of(decision: decision, token: token) { denied(reason) }
    }

    /// A refusal that is not a request's line of its own kind (the connection limits).
    func denied(_ reason: DenialReason) {
        denials[Self.index(reason)] &+= 1
    }

    func peeked(_ result: PeekResult) {
        peeks[Self.index(result)] &+= 1
    }

    func handshake(_ leg: HandshakeLeg, _ result: HandshakeResult) {
        handshakes[Self.index(leg) * HandshakeResult.allCases.count + Self.index(result)] &+= 1
    }

    /// A copy of every counter, taken on the loop's queue.
    func snapshot() -> CounterSnapshot {
        CounterSnapshot(pipesCreated: pipesCreated, pipeFallbacks: pipeFallbacks, bytesSpliced: bytesSpliced,
                        bytesCopied: bytesCopied, bytes: bytes, requests: requests, denials: denials, peeks: peeks,
                        handshakes: handshakes, activeTunnels: activeTunnels)
    }

    static func index<Label: MetricLabel>(_ label: Label) -> Int { label.ordinal }
}

/// Every counter of one loop, or the sum over all loops.
struct CounterSnapshot: Sendable {
    var pipesCreated = 0
    var pipeFallbacks = 0
    var bytesSpliced = 0
    var bytesCopied = 0
    var bytes = [UInt64](repeating: 0, count: ByteDirection.allCases.count)
    var requests = [UInt64](repeating: 0, count: RequestKindLabel.allCases.count * DecisionLabel.allCases.count)
    var denials = [UInt64](repeating: 0, count: DenialReason.allCases.count)
    var peeks = [UInt64](repeating: 0, count: PeekResult.allCases.count)
    var handshakes = [UInt64](repeating: 0, count: HandshakeLeg.allCases.count * HandshakeResult.allCases.count)
    var activeTunnels = 0

    static func + (a: CounterSnapshot, b: CounterSnapshot) -> CounterSnapshot {
        func sum(_ x: [UInt64], _ y: [UInt64]) -> [UInt64] { zip(x, y).map { $0 &+ $1 } }
        return CounterSnapshot(pipesCreated: a.pipesCreated + b.pipesCreated, pipeFallbacks: a.pipeFallbacks + b.pipeFallbacks,
                               bytesSpliced: a.bytesSpliced + b.bytesSpliced, bytesCopied: a.bytesCopied + b.bytesCopied,
                               bytes: sum(a.bytes, b.bytes), requests: sum(a.requests, b.requests),
                               denials: sum(a.denials, b.denials), peeks: sum(a.peeks, b.peeks),
                               handshakes: sum(a.handshakes, b.handshakes), activeTunnels: a.activeTunnels + b.activeTunnels)
    }
}
