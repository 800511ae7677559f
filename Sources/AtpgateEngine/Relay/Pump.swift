import AtpgateHTTP
import AtpgateIO

/// Moves bytes one way, from a source channel to a sink channel, on the loop's queue.
///
/// - Copies through the loop's shared scratch buffer; a per-pump buffer exists only while a
///   write is partially done, so an idle tunnel holds no buffers at all.
/// - Back-pressure: while bytes wait for the sink, the source is not read.
/// - A stream (tunnel) direction switches to splice(2) through a pipe once one read has filled
///   the scratch buffer: short tunnels never pay for pipes, bulk ones stop copying. When no pipe
///   can be had (EMFILE, per-user pipe limit) it keeps copying.
/// - Framed directions (HTTP bodies) stop exactly at the message end; bytes read past it are
///   handed back as `leftover` (a pipelined next request).
final class Pump: @unchecked Sendable {
    /// stream (until the source closes), length (Content-Length), chunked (forwarded as it is),
    /// dechunk (chunked in, only the chunk data out): `BodyFramer` tracks the body, the pump moves bytes.
    typealias Framing = BodyFramer.Mode

    enum Side { case source, sink }

    enum End {
        case sourceClosed                    // stream framing: the source sent end of stream, all bytes delivered
        case complete(leftover: [UInt8])     // framed message delivered
        case failed(Side, PumpFailure)       // read/write error, reset, or a truncated/invalid body (source)
    }

    let source: any ByteStream
    let sink: any ByteStream
    private let loop: IOLoop
    private let spliceAllowed: Bool
    private let halfCloseOnEnd: Bool
    private var framer: BodyFramer

    /// Body bytes delivered to the sink (priming bytes excluded).
    private(set) var bytes: UInt64 = 0
    /// Monotonic time of the last byte moved, for the idle timeout.
    private(set) var lastActivity = monotonicNanos()
    private(set) var isFinished = false
    var onEnd: ((End) -> Void)?

    private var pending: UnsafeMutableRawBufferPointer?
    private var pendingStart = 0
    private var pendingEnd = 0
    private var pipe: SplicePipe?
    private var pipeBytes = 0
    private var wantsPipe = false
    private var pipeUnavailable = false
    private var sourceEnded = false
    private var leftover: [UInt8] = []

    private let statistics: ProxyStatistics

    init(from source: any ByteStream, to sink: any ByteStream, loop: IOLoop, framing: Framing, statistics: ProxyStatistics,
         spliceAllowed: Bool = false, halfCloseOnEnd: Bool = false) {
        self.statistics = statistics
        self.source = source
        self.sink = sink
        self.loop = loop
        self.framer = BodyFramer(framing)
        self.spliceAllowed = spliceAllowed
        self.halfCloseOnEnd = halfCloseOnEnd
    }

    deinit {
        pending?.deallocate()
        pipe?.close()
    }

    /// Starts the pump. `prime` is written to the sink first (a 200 reply, a rewritten head; not
    /// counted as body), then `initial` — bytes already read from the source — passes through framing.
    func start(prime: [UInt8] = [], initial: [UInt8] = []) {
        if !prime.isEmpty {
            prime.withUnsafeBytes { deliver($0) }
        }
        if !initial.isEmpty && !isFinished {
            initial.withUnsafeBytes { accept($0) }
        }
        guard !isFinished else { return }
        if pendingCount == 0 {
            if framer.isComplete { finish(.complete(leftover: leftover)); return }
            source.setReadHandler { [self] in readable() }
            // Bytes may have arrived while the source was paused, and a resumed registration does
            // not always report them: look once now.
            readable()
        } else {
            // Bytes wait for the sink; reading resumes once they are flushed.
            source.setReadHandler { [self] in readable() }
            source.pauseReading()
        }
    }

    /// Stops moving bytes without reporting (the owner is closing both channels).
    func stop() {
        guard !isFinished else { return }
        isFinished = true
        onEnd = nil
        releaseResources()
    }

    private var pendingCount: Int { (pendingEnd - pendingStart) + pipeBytes }

    // MARK: Source side

    /// Reads until the socket would block, the sink pushes back, or the message ends. Dispatch's
    /// epoll registration does not report again what was already pending when a handler ran (an
    /// end of stream that arrived with the last bytes would be lost), so a handler must drain.
    /// After a budget of reads it yields to the other connections on the loop and comes back.
    private func readable() {
        for _ in 0..<Self.readsPerEvent {
            guard !isFinished, !sourceEnded, pendingCount == 0 else { return }
            guard readOnce() else { return }
        }
        loop.queue.async { [self] in readable() }
    }

    static let readsPerEvent = 8

    /// One read (or splice) step. True when bytes moved and reading may go on.
    private func readOnce() -> Bool {
        if pipe != nil {
            return spliceIn()
        }
        var limit = loop.scratch.count
        if let cap = framer.readLimit { limit = Int(min(UInt64(limit), cap)) }
        if limit == 0 { source.pauseReading(); return false }
        let count: Int
        do {
            guard let n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: loop.scratch[0..<limit])) else {
                return false
            }
            count = n
        } catch {
            finish(.failed(.source, PumpFailure(error)))
            return false
        }
        if count == 0 {
            sourceClosed()
            return false
        }
        lastActivity = monotonicNanos()
        accept(UnsafeRawBufferPointer(rebasing: loop.scratch[0..<count]))
        if isFinished { return false }
        if count == loop.scratch.count, framer.isOpaque, spliceAllowed, !pipeUnavailable {
            wantsPipe = true
        }
        return afterProgress()
    }

    /// Runs bytes read from the source through framing and on to the sink; bytes past the message end
    /// are kept as `leftover`.
    private func accept(_ bytes: UnsafeRawBufferPointer) {
        var moved = 0
        let taken: Int
        do {
            taken = try framer.consume(bytes) { out in
                moved += out.count
                deliver(out)
            }
        } catch {
            finish(.failed(.source, PumpFailure("invalid chunked body: \(error)")))
            return
        }
        if taken < bytes.count {
            leftover.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[taken...]))
        }
        self.bytes += UInt64(moved)
        statistics.addCopied(moved)
    }

    private func spliceIn() -> Bool {
        guard let pipe, let from = source.spliceDescriptor else { return false }
        let moved: Int?
        do {
            moved = try SplicePipe.splice(from: from, to: pipe.writeEnd, count: pipe.capacity - pipeBytes)
            source.noteRead(moved)
        } catch {
            source.noteRead(0)
            finish(.failed(.source, PumpFailure(error)))
            return false
        }
        guard let n = moved else { return false }
        if n == 0 {
            sourceClosed()
            return false
        }
        pipeBytes += n
        bytes += UInt64(n)
        statistics.addSpliced(n)
        lastActivity = monotonicNanos()
        do {
            try drainPipe()
        } catch {
            finish(.failed(.sink, PumpFailure(error)))
            return false
        }
        return afterProgress()
    }

    private func sourceClosed() {
        sourceEnded = true
        source.pauseReading()
        if pendingCount == 0 { endOfSource() }
    }

    private func endOfSource() {
        if framer.closeEndsBody {
            if halfCloseOnEnd { sink.shutdownWrite() }
            finish(.sourceClosed)
        } else {
            finish(.failed(.source, PumpFailure("the peer closed before the end of the body")))
        }
    }

    // MARK: Sink side

    /// Writes what the sink takes now; keeps the rest in the pending buffer.
    private func deliver(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty, !isFinished else { return }
        var offset = 0
        if pendingCount == 0 {
            do {
                while offset < bytes.count {
                    guard let n = try sink.write(UnsafeRawBufferPointer(rebasing: bytes[offset...])) else { break }
                    offset += n
                }
            } catch {
                finish(.failed(.sink, PumpFailure(error)))
                return
            }
        }
        if offset < bytes.count {
            appendPending(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
        }
    }

    private func appendPending(_ bytes: UnsafeRawBufferPointer) {
        let needed = (pendingEnd - pendingStart) + bytes.count
        if pending == nil || pending!.count - pendingEnd < bytes.count {
            let capacity = max(needed, IOLoop.scratchSize)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
            if let old = pending {
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: old[pendingStart..<pendingEnd]))
                old.deallocate()
            }
            pending = buffer
            pendingEnd -= pendingStart
            pendingStart = 0
        }
        UnsafeMutableRawBufferPointer(rebasing: pending![pendingEnd...]).copyMemory(from: bytes)
        pendingEnd += bytes.count
    }

    /// After bytes moved: wait for the sink if some are pending, else go on reading (or finish).
    /// True when reading may go on.
    private func afterProgress() -> Bool {
        guard !isFinished else { return false }
        if pendingCount > 0 {
            source.pauseReading()
            sink.awaitWritable { [self] in writable() }
            return false
        }
        if framer.isComplete { finish(.complete(leftover: leftover)); return false }
        if wantsPipe { switchToPipe() }
        return true
    }

    private func writable() {
        guard !isFinished else { return }
        do {
            if let buffer = pending, pendingEnd > pendingStart {
                while pendingStart < pendingEnd {
                    guard let n = try sink.write(UnsafeRawBufferPointer(rebasing: buffer[pendingStart..<pendingEnd])) else {
                        return
                    }
                    pendingStart += n
                }
                // Free the buffer: idle tunnels should hold none.
                buffer.deallocate()
                pending = nil
                pendingStart = 0
                pendingEnd = 0
            }
            try drainPipe()
        } catch {
            finish(.failed(.sink, PumpFailure(error)))
            return
        }
        guard pendingCount == 0 else { return }
        sink.stopAwaitingWritable()
        lastActivity = monotonicNanos()
        if framer.isComplete { finish(.complete(leftover: leftover)); return }
        if sourceEnded { endOfSource(); return }
        if wantsPipe { switchToPipe() }
        source.resumeReading()
        readable()
    }

    private func drainPipe() throws(SocketError) {
        guard let pipe, let to = sink.spliceDescriptor else { return }
        while pipeBytes > 0 {
            guard let n = try SplicePipe.splice(from: pipe.readEnd, to: to, count: pipeBytes) else { return }
            pipeBytes -= n
        }
    }

    private func switchToPipe() {
        wantsPipe = false
        guard pipe == nil, pendingCount == 0 else { return }
        // Splicing needs both ends to be plain descriptors (not TLS, no bytes handed back pending).
        guard source.spliceDescriptor != nil, sink.spliceDescriptor != nil else { return }
        pipe = SplicePipe.make()
        if pipe != nil {
            statistics.pipeCreated()
        } else {
            // No pipe now (descriptor or per-user pipe limit): keep copying for this direction.
            pipeUnavailable = true
            statistics.pipeFailed()
        }
    }

    // MARK: End

    private func finish(_ end: End) {
        guard !isFinished else { return }
        isFinished = true
        releaseResources()
        let handler = onEnd
        onEnd = nil
        handler?(end)
    }

    private func releaseResources() {
        source.pauseReading()
        sink.stopAwaitingWritable()
        pending?.deallocate()
        pending = nil
        pendingStart = 0
        pendingEnd = 0
        pipe?.close()
        pipe = nil
        pipeBytes = 0
    }
}
