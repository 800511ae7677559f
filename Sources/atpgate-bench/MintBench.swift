#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Dispatch
import Foundation
import AtpgateTLS

/// `atpgate-bench mint`: what minting a leaf costs, and what it costs the loop that asks for one (issue 11:
/// "minting never stalls a loop for other connections (measure it)").
///
/// 1. `LeafMinter.mint` alone, N times: the CPU a mint takes (a P-256 key and an ECDSA signature).
/// 2. A serial queue standing in for an I/O loop asks the `LeafCache` for N different hosts (every one a
///    miss) while a 1 ms ticker on the same queue records how late each tick runs. The time each
///    `leaf(for:)` call holds the queue, and the ticks' lateness, against the same ticker with no minting.
struct MintCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mint", abstract: "Leaf minting: its cost, and the loop's responsiveness while it runs.")

    @Option(help: "Leaves to mint.") var count: Int = 500

    func run() throws {
        let ca = try CertificateAuthority.create(commonName: "atpgate-bench mint CA")
        let now = Int64(time(nil))
        var mintMicros: [Double] = []
        for index in 0..<count {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try LeafMinter.mint(for: .dns("host\(index).mint.bench"), by: ca, now: now)
            mintMicros.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1000)
        }
        print(String(format: "mint alone: median %.0f µs, p99 %.0f µs (%d leaves)", percentile(mintMicros, 0.5),
                     percentile(mintMicros, 0.99), count))

        let idle = ticker(minting: false, ca: ca, now: now)
        let busy = ticker(minting: true, ca: ca, now: now)
        print(String(format: "loop ticks (1 ms) without minting: lateness p50 %.0f µs, p99 %.0f µs, max %.0f µs",
                     idle.p50, idle.p99, idle.max))
        print(String(format: "loop ticks while %d leaves are minted: lateness p50 %.0f µs, p99 %.0f µs, max %.0f µs; "
                     + "each leaf(for:) miss held the loop for median %.1f µs, max %.1f µs; all minted in %.0f ms",
                     count, busy.p50, busy.p99, busy.max, busy.callMedian, busy.callMax, busy.totalMs))
    }

    struct TickerResult {
        var p50 = 0.0, p99 = 0.0, max = 0.0, callMedian = 0.0, callMax = 0.0, totalMs = 0.0
    }

    /// Runs a 1 ms ticker on a serial queue for as long as the minting takes (or 500 ms without minting).
    func ticker(minting: Bool, ca: CertificateAuthority, now: Int64) -> TickerResult {
        let loop = DispatchQueue(label: "atpgate-bench.loop")
        let cache = LeafCache(capacity: count + 16)
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var lateness: [Double] = []
        nonisolated(unsafe) var calls: [Double] = []
        nonisolated(unsafe) var remaining = count
        nonisolated(unsafe) var finished = false
        let started = DispatchTime.now().uptimeNanoseconds
        nonisolated(unsafe) var ended = started
        let timer = DispatchSource.makeTimerSource(queue: loop)
        nonisolated(unsafe) var previous = started
        timer.schedule(deadline: .now() + .milliseconds(1), repeating: .milliseconds(1), leeway: .nanoseconds(0))
        timer.setEventHandler {
            // Lateness of a tick: how much longer than 1 ms since the one before (Dispatch drops ticks it
            // missed, so a fixed schedule would count one stall again on every later tick).
            let at = DispatchTime.now().uptimeNanoseconds
            let interval = at - previous
            previous = at
            lateness.append(Double(interval > 1_000_000 ? interval - 1_000_000 : 0) / 1000)
            if finished {
                timer.cancel()
                done.signal()
            }
        }
        timer.resume()
        loop.async {
            guard minting else {
                loop.asyncAfter(deadline: .now() + .milliseconds(500)) { finished = true }
                return
            }
            for index in 0..<count {
                let start = DispatchTime.now().uptimeNanoseconds
                cache.leaf(for: .dns("host\(index).loop.bench"), ca: ca, now: now, on: loop) { _ in
                    remaining -= 1
                    if remaining == 0 {
                        ended = DispatchTime.now().uptimeNanoseconds
                        finished = true
                    }
                }
                calls.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1000)
            }
        }
        done.wait()
        // The first tick measures the set-up, not the loop.
        let ticks = Array(lateness.dropFirst())
        return TickerResult(p50: percentile(ticks, 0.5), p99: percentile(ticks, 0.99), max: ticks.max() ?? 0,
                            callMedian: percentile(calls, 0.5), callMax: calls.max() ?? 0,
                            totalMs: Double(ended - started) / 1e6)
    }

    func percentile(_ values: [Double], _ fraction: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * fraction))]
    }
}
