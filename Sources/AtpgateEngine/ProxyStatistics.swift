import Dispatch
import AtpgateIO

/// Which relay path bytes took, summed over the loops (`ProxyServer.statistics`): tests and the
/// benchmarks read it. The counters themselves live per loop (`LoopCounters`).
public struct ProxyStatistics: Sendable {
    /// Pipes created for splice(2) (one per bulk tunnel direction).
    public let pipesCreated: Int
    /// Times a pipe could not be had and a direction kept copying.
    public let pipeFallbacks: Int
    /// Tunnel bytes moved by splice(2), without a copy through user space.
    public let bytesSpliced: Int
    /// Bytes copied through the scratch buffer (tunnels and HTTP bodies).
    public let bytesCopied: Int

    init(_ snapshot: CounterSnapshot) {
        pipesCreated = snapshot.pipesCreated
        pipeFallbacks = snapshot.pipeFallbacks
        bytesSpliced = snapshot.bytesSpliced
        bytesCopied = snapshot.bytesCopied
    }
}

extension ProxyMetrics {
    /// Every loop's counters summed, waiting for each loop: never call it from a loop's queue.
    func gatherNow() -> CounterSnapshot {
        let done = DispatchSemaphore(value: 0)
        let result = Locked(CounterSnapshot())
        gather(on: DispatchQueue.global()) { total in
            result.withLock { $0 = total }
            done.signal()
        }
        done.wait()
        return result.withLock { $0 }
    }
}
