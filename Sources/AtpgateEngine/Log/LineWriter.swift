#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import Dispatch
import AtpgateIO

/// Writes lines to a descriptor (stdout for the access log) or a file from its own thread, so a slow or
/// blocked reader never stalls the I/O queues. The buffer is bounded; lines that do not fit are
/// dropped and counted.
///
/// A file is reopened on request (`reopen`, SIGUSR1 after logrotate renamed it): the new descriptor is
/// opened by the caller and handed to the writer thread, which switches between two writes, so no line
/// is lost or split across the two files.
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
        /// Descriptors to switch to, each once the first `linesBefore` of `lines` are written (`reopen`),
        /// in the order they were opened.
        var replacements: [Replacement] = []
    }

    private struct Replacement {
        var fd: Int32
        var linesBefore: Int
    }

    /// Written only by the writer thread once it runs (`reopen` hands it a `Replacement`); `stop` reads
    /// them after the thread has ended.
    private var fd: Int32
    /// Whether the writer closes `fd` (a file it opened) or leaves it to its owner (stdout).
    private var ownsDescriptor: Bool
    /// The file written, nil for a descriptor given to `init(fd:)`. Held while a reopen opens the file,
    /// so two reopens (SIGUSR1 and a reload) hand over their descriptors in the order they opened them.
    /// A pthread mutex (`Locked`), not Swift's `Mutex`: ThreadSanitizer cannot see the latter's futex on Linux.
    private let filePath: Locked<String?>
    private let maxBufferedBytes: Int
    private let state = Locked(State())
    private let wakeup = NSCondition()
    private let droppedCounter = Atomic<Int>(0)
    private let exited = DispatchSemaphore(value: 0)

    /// How long lines may gather before a write once they come faster than one at a time.
    static let coalesceSeconds = 0.01

    /// Writes to `fd`, which stays its owner's to close (after `stop`).
    public convenience init(fd: Int32 = STDOUT_FILENO, maxBufferedBytes: Int = 4 << 20) {
        self.init(fd: fd, owned: false, path: nil, maxBufferedBytes: maxBufferedBytes)
    }

    /// Appends to the file at `path` (created with mode 0640 when missing); the writer closes it.
    public convenience init(appendingTo path: String, maxBufferedBytes: Int = 4 << 20) throws(AccessLogFileError) {
        let fd = try AccessLogFile.open(path)
        self.init(fd: fd, owned: true, path: path, maxBufferedBytes: maxBufferedBytes)
    }

    private init(fd: Int32, owned: Bool, path: String?, maxBufferedBytes: Int) {
        self.fd = fd
        self.ownsDescriptor = owned
        self.filePath = Locked(path)
        self.maxBufferedBytes = maxBufferedBytes
        let thread = Thread { [self] in run() }
        thread.name = "atpgate.log-writer"
        thread.start()
    }

    /// Lines dropped because the buffer was full.
    public var dropped: Int { droppedCounter.load(ordering: .relaxed) }

    /// The file written, nil when writing to a descriptor given by its owner (stdout).
    public var path: String? { filePath.withLock { $0 } }

    /// Opens `newPath`, or the file written now when nil, again for appending and switches to it between
    /// two writes: every line written before this call goes to the old descriptor, every later one to the
    /// new. The old descriptor is closed if the writer opened it. Returns the path now written; nil (and
    /// nothing changes) when the writer writes to stdout and no `newPath` is given. A file that cannot be
    /// opened throws, and the writer keeps writing where it did.
    @discardableResult
    public func reopen(at newPath: String? = nil) throws(AccessLogFileError) -> String? {
        let outcome = filePath.withLock { current -> Result<String?, AccessLogFileError> in
            guard let target = newPath ?? current else { return .success(nil) }
            let opened = Result { () throws(AccessLogFileError) in try AccessLogFile.open(target) }
            guard case .success(let fd) = opened else { return opened.map { _ in nil } }
            let (accepted, wake) = state.withLock { state -> (Bool, Bool) in
                guard !state.stopping else { return (false, false) }
                state.replacements.append(Replacement(fd: fd, linesBefore: state.lines.count))
                let wake = state.sleeping
                state.sleeping = false
                return (true, wake)
            }
            guard accepted else {
                close(fd)   // stopped: the thread is gone or going, and would never take it
                return .success(current)
            }
            if wake { wakeWriter() }
            current = target
            return .success(target)
        }
        return try outcome.get()
    }

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
        if wake { wakeWriter() }
    }

    private func wakeWriter() {
        wakeup.lock()
        wakeup.signal()
        wakeup.unlock()
    }

    /// Waits (up to `timeout` seconds) until every buffered line is written.
    public func flush(timeout: Double = 2) {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let idle = state.withLock { $0.lines.isEmpty && $0.replacements.isEmpty && !$0.writing }
            if idle { return }
            usleep(1000)
        }
    }

    /// Writes what is buffered, then ends the writer thread (waiting at most `timeout` seconds).
    /// Lines written after this are dropped. A descriptor given to `init(fd:)` is not closed: its owner
    /// does that, and only after this returns, so the thread never writes to a reused descriptor number.
    /// A file the writer opened is closed here, once the thread has ended.
    public func stop(timeout: Double = 2) {
        state.withLock { $0.stopping = true }
        wakeup.lock()
        wakeup.broadcast()
        wakeup.unlock()
        if exited.wait(timeout: .now() + timeout) == .success, ownsDescriptor {
            close(fd)
            ownsDescriptor = false
        }
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
            var replacements: [Replacement] = []
            while true {
                let stopping: Bool
                (batch, replacements, stopping) = state.withLock { state in
                    let lines = state.lines
                    let replacements = state.replacements
                    state.lines.removeAll(keepingCapacity: true)
                    state.replacements.removeAll()
                    state.bufferedBytes = 0
                    state.writing = !lines.isEmpty || !replacements.isEmpty
                    // Still holding `wakeup`'s lock until wait() releases it: no signal can be lost.
                    state.sleeping = !state.writing && !state.stopping
                    return (lines, replacements, state.stopping)
                }
                if !batch.isEmpty || !replacements.isEmpty { break }
                if stopping { wakeup.unlock(); return }
                wakeup.wait()
            }
            wakeup.unlock()
            // One line: lines come slowly, so wait for the next one asleep. More: they come faster
            // than the writer wakes, so gather the next ones for a while.
            nap = batch.count > 1
            // The lines queued before a reopen finish the old file; the next ones start the new one.
            var written = 0
            for replacement in replacements {
                writeAll(batch[written..<replacement.linesBefore])
                written = replacement.linesBefore
                if ownsDescriptor { close(fd) }
                fd = replacement.fd
                ownsDescriptor = true
            }
            writeAll(batch[written...])
            state.withLock { $0.writing = false }
        }
    }

    private func writeAll(_ lines: ArraySlice<String>) {
        guard !lines.isEmpty else { return }
        var data = lines.joined()
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
    }
}
