#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import Dispatch
import AtpgateIO

/// Writes lines to a descriptor (stdout for the access log) from its own thread, so a slow or
/// blocked reader never stalls the I/O queues. The buffer is bounded; lines that do not fit are
/// dropped and counted.
///
/// Waking the thread is what a line costs most (a futex call by the producer, two context switches),
/// so under load it is not woken per line: after a write of more than one line it naps for
/// `coalesceSeconds` and then writes what gathered meanwhile in one call, and producers only wake it
/// when it sleeps with nothing to do. A quiet proxy still writes each line at once; a busy one writes
/// a few times per `coalesceSeconds` instead of once or twice per request.
public final class LineWriter: @unchecked Sendable {
    private struct State {
        var lines: [String] = []
        var bufferedBytes = 0
        var stopping = false
        var writing = false
        /// The writer thread waits for lines: only then does a producer need to wake it (a signal
        /// is a futex call; on a busy proxy most lines arrive while the writer is still writing).
        var sleeping = false
    }

    private let fd: Int32
    private let maxBufferedBytes: Int
    private let state = Locked(State())
    private let wakeup = NSCondition()
    private let droppedCounter = Atomic<Int>(0)
    private let exited = DispatchSemaphore(value: 0)

    /// How long lines may gather before a write once they come faster than one at a time.
    static let coalesceSeconds = 0.01

    public init(fd: Int32 = STDOUT_FILENO, maxBufferedBytes: Int = 4 << 20) {
        self.fd = fd
        self.maxBufferedBytes = maxBufferedBytes
        let thread = Thread { [self] in run() }
        thread.name = "atpgate.log-writer"
        thread.start()
    }

    /// Lines dropped because the buffer was full.
    public var dropped: Int { droppedCounter.load(ordering: .relaxed) }

    public func write(_ line: String) {
        let (accepted, wake) = state.withLock { state -> (Bool, Bool) in
            guard !state.stopping, state.bufferedBytes + line.utf8.count <= maxBufferedBytes else { return (false, false) }
            state.lines.append(line)
            state.bufferedBytes += line.utf8.count
            let wake = state.sleeping
            state.sleeping = false
            return (true, wake)
        }
        guard accepted else {
            droppedCounter.wrappingAdd(1, ordering: .relaxed)
            return
        }
        if wake {
            wakeup.lock()
            wakeup.signal()
            wakeup.unlock()
        }
    }

    /// Waits (up to `timeout` seconds) until every buffered line is written.
    public func flush(timeout: Double = 2) {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let idle = state.withLock { $0.lines.isEmpty && !$0.writing }
            if idle { return }
            usleep(1000)
        }
    }

    /// Writes what is buffered, then ends the writer thread (waiting at most `timeout` seconds).
    /// Lines written after this are dropped. The descriptor is not closed: its owner does that,
    /// and only after this returns, so the thread never writes to a reused descriptor number.
    public func stop(timeout: Double = 2) {
        state.withLock { $0.stopping = true }
        wakeup.lock()
        wakeup.broadcast()
        wakeup.unlock()
        _ = exited.wait(timeout: .now() + timeout)
    }

    private func run() {
        defer { exited.signal() }
        var nap = false
        while true {
            wakeup.lock()
            if nap && !state.withLock({ $0.stopping }) {
                // `sleeping` is false since the last batch: producers do not signal while lines gather.
                // `stop` still ends the nap (it sets `stopping`, then broadcasts under this lock).
                _ = wakeup.wait(until: Date(timeIntervalSinceNow: Self.coalesceSeconds))
            }
            var batch: [String] = []
            while true {
                let stopping: Bool
                (batch, stopping) = state.withLock { state in
                    let lines = state.lines
                    state.lines.removeAll(keepingCapacity: true)
                    state.bufferedBytes = 0
                    state.writing = !lines.isEmpty
                    // Still holding `wakeup`'s lock until wait() releases it: no signal can be lost.
                    state.sleeping = lines.isEmpty && !state.stopping
                    return (lines, state.stopping)
                }
                if !batch.isEmpty { break }
                if stopping { wakeup.unlock(); return }
                wakeup.wait()
            }
            wakeup.unlock()
            // One line: lines come slowly, so wait for the next one asleep. More: they come faster
            // than the writer wakes, so gather the next ones for a while.
            nap = batch.count > 1
            var data = batch.joined()
            data.withUTF8 { bytes in
                var offset = 0
                while offset < bytes.count {
                    let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        if errno == EAGAIN { usleep(1000); continue }
                        break   // EPIPE and friends: the reader is gone; drop the batch
                    }
                    offset += n
                }
            }
            state.withLock { $0.writing = false }
        }
    }
}
