import AtpgateHTTP
import AtpgateIO

/// Moves bytes one way, from a source stream to a sink stream, on the loop's queue. Its whole progress
/// is one `State` (PumpState.swift); everything else is fixed at init or is a counter.
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
    /// The loop's counters (this pump runs on that loop) and which way this pump moves bytes.
    private let counters: LoopCounters
    private let direction: ByteDirection
    private let halfCloseOnEnd: Bool
    /// A full read may still switch this direction to splice: allowed by the owner, an opaque body, and
    /// no pipe refused so far (after that it copies for good rather than ask again on every read).
    private var mayPipe: Bool
    private var framer: BodyFramer
    private var state = State.idle

    /// Body bytes delivered to the sink (priming bytes excluded).
    private(set) var bytes: UInt64 = 0
    /// Monotonic time of the last byte moved, for the idle timeout.
    private(set) var lastActivity = monotonicNanos()
    var onEnd: ((End) -> Void)?

    var isFinished: Bool {
        if case .finished = state { true } else { false }
    }

    /// Bytes read from the source that the sink has not taken yet (in the pump's buffer or its pipe);
    /// for tests and debugging, like `isSplicing`.
    var bytesWaiting: Int {
        switch state {
        case .writing(let waiting, _): waiting.count
        case .splicing(_, let inPipe): inPipe
        case .idle, .reading, .finished: 0
        }
    }

    var isSplicing: Bool {
        if case .splicing = state { true } else { false }
    }

    init(from source: any ByteStream, to sink: any ByteStream, loop: IOLoop, framing: Framing, counters: LoopCounters, direction: ByteDirection,
         spliceAllowed: Bool = false, halfCloseOnEnd: Bool = false) {
        self.counters = counters
        self.direction = direction
        self.source = source
        self.sink = sink
        self.loop = loop
        let framer = BodyFramer(framing)
        self.framer = framer
        self.mayPipe = spliceAllowed && framer.isOpaque
        self.halfCloseOnEnd = halfCloseOnEnd
    }

    deinit {
        if case .splicing(let pipe, _) = state { pipe.close() }
    }

    /// Starts the pump. `prime` is written to the sink first (a 200 reply, a rewritten head; not
    /// counted as body), then `initial` — bytes already read from the source — passes through framing.
    func start(prime: [UInt8] = [], initial: [UInt8] = []) {
        guard case .idle = state else { return }
        var delivery = Delivery()
        prime.withUnsafeBytes { delivery.send($0, to: sink) }
        _ = initial.withUnsafeBytes { pass($0, after: delivery, fullRead: false) }
        switch state {
        case .idle, .finished:
            // Ended before reading: the source's handler stays its owner's.
            return
        case .writing:
            // Reading resumes once the sink has taken the bytes.
            source.setReadHandler { [self] in readable() }
            source.pauseReading()
        case .reading, .splicing:
            // No read now: the stream calls the handler when bytes can be read, and at once (next turn
            // of the queue) when its last read did not drain it or bytes were handed back (the
            // `ByteStream` contract). A freshly dialled upstream has nothing yet, so a read here would
            // only find it empty: one syscall per tunnel saved.
            source.setReadHandler { [self] in readable() }
        }
    }

    /// Stops moving bytes without reporting (the owner is closing both channels).
    func stop() {
        guard !isFinished else { return }
        onEnd = nil
        release()
    }

    // MARK: Source side

    /// Reads until the source would block, the sink pushes back (reading paused), or the message ends:
    /// a stream reports readiness once (`ByteStream`), so a handler that stops earlier without pausing
    /// is not called again. After a budget of reads it yields to the other connections on the loop and
    /// comes back through the queue: a fast peer makes the pump loop, never recurse.
    private func readable() {
        for _ in 0..<Self.readsPerEvent {
            guard readOnce() else { return }
        }
        loop.queue.async { [self] in readable() }
    }

    static let readsPerEvent = 8

    /// One read (or splice) step. True when bytes moved and reading may go on.
    private func readOnce() -> Bool {
        switch state {
        case .reading: copyOnce()
        case .splicing(let pipe, inPipe: 0): spliceOnce(pipe)
        case .idle, .writing, .splicing, .finished: false   // waiting for the sink, or not running
        }
    }

    private func copyOnce() -> Bool {
        // Never read past the end of a length body: a pipelined request's bytes stay in the socket.
        var limit = loop.scratch.count
        if let cap = framer.readLimit { limit = Int(min(UInt64(limit), cap)) }
        let count: Int
        do {
            guard let n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: loop.scratch[0..<limit])) else {
                return false
            }
            count = n
        } catch {
            return fail(.source, error)
        }
        if count == 0 {
            endOfSource()
            return false
        }
        lastActivity = monotonicNanos()
        return pass(UnsafeRawBufferPointer(rebasing: loop.scratch[0..<count]), fullRead: count == loop.scratch.count)
    }

    /// Runs bytes from the source through framing on to the sink (after `earlier`, what the step already
    /// handed it), then moves to the next state. True when reading may go on.
    private func pass(_ input: UnsafeRawBufferPointer, after earlier: Delivery = Delivery(), fullRead: Bool) -> Bool {
        var delivery = earlier
        if let failure = delivery.failure { return fail(.sink, failure) }
        var moved = 0
        let taken: Int
        do {
            taken = try input.isEmpty ? 0 : framer.consume(input) { out in
                moved += out.count
                delivery.send(out, to: sink)
            }
        } catch {
            // A write that failed before the bad byte is what ended the step.
            if let failure = delivery.failure { return fail(.sink, failure) }
            finish(.failed(.source, PumpFailure("invalid chunked body: \(error)")))
            return false
        }
        bytes += UInt64(moved)
        counters.bytesCopied &+= moved
        counters.add(moved, direction)
        if let failure = delivery.failure { return fail(.sink, failure) }
        let next: Next = framer.isComplete ? .complete(leftover: Array(input[taken...]))
            : fullRead && mayPipe ? .splice : .read
        if delivery.kept.isEmpty { return proceed(next) }
        state = .writing(delivery.kept[...], then: next)
        waitForSink()
        return false
    }

    private func spliceOnce(_ pipe: SplicePipe) -> Bool {
        guard let from = source.spliceDescriptor else {
            // Bytes were handed back to the source (`unread`): they must be read, so copy again for now.
            pipe.close()
            state = .reading
            return true
        }
        let moved: Int?
        do {
            moved = try SplicePipe.splice(from: from, to: pipe.writeEnd, count: pipe.capacity)
            source.noteRead(moved)
        } catch {
            source.noteRead(0)
            return fail(.source, error)
        }
        guard let n = moved else { return false }
        if n == 0 {
            endOfSource()
            return false
        }
        bytes += UInt64(n)
        counters.bytesSpliced &+= n
        counters.add(n, direction)
        lastActivity = monotonicNanos()
        guard let left = flush(pipe, holding: n) else { return false }
        state = .splicing(pipe, inPipe: left)
        if left == 0 { return true }
        waitForSink()
        return false
    }

    /// The source sent end of stream. Only ever seen with nothing waiting for the sink, since the source
    /// is not read while anything does.
    private func endOfSource() {
        guard framer.closeEndsBody else {
            finish(.failed(.source, PumpFailure("the peer closed before the end of the body")))
            return
        }
        if halfCloseOnEnd { sink.shutdownWrite() }
        finish(.sourceClosed)
    }

    // MARK: Sink side

    /// Stops reading until the sink takes what waits (`writable`).
    private func waitForSink() {
        source.pauseReading()
        sink.awaitWritable { [self] in writable() }
    }

    private func writable() {
        switch state {
        case .writing(let waiting, let next):
            let step = waiting.withUnsafeBytes { raw in Result { () throws(SocketError) in try Self.writeSome(raw, to: sink) } }
            let written: Int
            switch step {
            case .success(let n): written = n
            case .failure(let error): fail(.sink, error); return
            }
            guard written == waiting.count else {
                state = .writing(waiting.dropFirst(written), then: next)
                return
            }
            sink.stopAwaitingWritable()
            lastActivity = monotonicNanos()
            // Dropping the slice frees the buffer: idle pumps hold none.
            guard proceed(next) else { return }
        case .splicing(let pipe, let inPipe) where inPipe > 0:
            guard let left = flush(pipe, holding: inPipe) else { return }
            state = .splicing(pipe, inPipe: left)
            guard left == 0 else { return }
            sink.stopAwaitingWritable()
            lastActivity = monotonicNanos()
        case .idle, .reading, .splicing, .finished:
            return   // nothing waits: a late edge
        }
        source.resumeReading()
        readable()
    }

    /// Splices what the pipe holds on to the sink, as far as it takes it: how many bytes are left in
    /// the pipe, nil when the sink failed (the pump has ended).
    private func flush(_ pipe: SplicePipe, holding count: Int) -> Int? {
        guard let to = sink.spliceDescriptor else { return count }
        var left = count
        do {
            while left > 0, let n = try SplicePipe.splice(from: pipe.readEnd, to: to, count: left) {
                left -= n
            }
        } catch {
            fail(.sink, error)
            return nil
        }
        return left
    }

    /// Nothing waits for the sink: report the end, or go on reading (through a pipe when due). True
    /// when reading may go on.
    private func proceed(_ next: Next) -> Bool {
        switch next {
        case .complete(let leftover):
            finish(.complete(leftover: leftover))
            return false
        case .read:
            state = .reading
        case .splice:
            state = .reading
            // Splicing needs both ends to be plain descriptors (not TLS, no bytes handed back pending).
            guard source.spliceDescriptor != nil, sink.spliceDescriptor != nil else { break }
            if let pipe = SplicePipe.make() {
                counters.pipesCreated += 1
                state = .splicing(pipe, inPipe: 0)
            } else {
                // No pipe now (descriptor or per-user pipe limit): keep copying for this direction.
                mayPipe = false
                counters.pipeFallbacks += 1
            }
        }
        return true
    }

    // MARK: End

    /// Ends the pump on a socket error; false, for the step that met it (reading may not go on).
    @discardableResult
    private func fail(_ side: Side, _ error: SocketError) -> Bool {
        finish(.failed(side, PumpFailure(error)))
        return false
    }

    private func finish(_ end: End) {
        guard !isFinished else { return }
        release()
        let handler = onEnd
        onEnd = nil
        handler?(end)
    }

    private func release() {
        source.pauseReading()
        sink.stopAwaitingWritable()
        if case .splicing(let pipe, _) = state { pipe.close() }
        state = .finished
    }
}
