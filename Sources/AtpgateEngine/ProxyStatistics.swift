import Synchronization

/// Counters shared by every loop of one server (atomics: no queue owns them). The metrics issue
/// exports these; tests use them to check which relay path bytes took.
public final class ProxyStatistics: Sendable {
    private let pipes = Atomic<Int>(0)
    private let pipeFailures = Atomic<Int>(0)
    private let spliced = Atomic<Int>(0)
    private let copied = Atomic<Int>(0)

    public init() {}

    /// Pipes created for splice(2) (one per bulk tunnel direction).
    public var pipesCreated: Int { pipes.load(ordering: .relaxed) }
    /// Times a pipe could not be had and a direction kept copying.
    public var pipeFallbacks: Int { pipeFailures.load(ordering: .relaxed) }
    /// Tunnel bytes moved by splice(2), without a copy through user space.
    public var bytesSpliced: Int { spliced.load(ordering: .relaxed) }
    /// Bytes copied through the scratch buffer (tunnels and HTTP bodies).
    public var bytesCopied: Int { copied.load(ordering: .relaxed) }

    func pipeCreated() { pipes.wrappingAdd(1, ordering: .relaxed) }
    func pipeFailed() { pipeFailures.wrappingAdd(1, ordering: .relaxed) }
    func addSpliced(_ count: Int) { spliced.wrappingAdd(count, ordering: .relaxed) }
    func addCopied(_ count: Int) { copied.wrappingAdd(count, ordering: .relaxed) }
}
