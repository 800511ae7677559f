import Dispatch
import CAtpgateSys

/// Owns one socket and its interest in readiness: what runs when it is readable, and what runs when it
/// can take more bytes. Readiness comes from the loop's `PollSet` (one edge-triggered registration,
/// made on first use). Confined to `loop.queue` (hence `@unchecked Sendable`).
///
/// Edge-triggered readiness reports a change once; the rules that keep a wake-up from being lost
/// live here, in one place:
/// - an edge that arrives while nobody listens (reading paused, no write waiter) is remembered, and
///   resuming or starting to wait delivers it (on the next turn of the queue);
/// - reads go through `read(into:)` / `noteRead(_:)`, so the channel knows whether the socket was
///   drained (the last read would have blocked, or saw the end): an owner that pauses with bytes
///   unread, or a handler that stops before the socket would block, is called again when it resumes,
///   without waiting for an edge that may never come;
/// - a handler is handed the edge and must drain: read until the socket would block (or pause), write
///   until it would block (or stop waiting).
/// - the registration is removed before the descriptor is closed, so a reused number never inherits it.
public final class SocketChannel: ByteStream, @unchecked Sendable {
    public let socket: Socket
    public let loop: IOLoop

    private var token: UInt64 = 0           // 0: not in the poll set yet
    private var readHandler: (() -> Void)?
    private var reading = false             // a read handler is set and not paused
    private var readReady = false           // an input edge no handler has seen yet
    private var drained = true              // the last read would have blocked, saw the end, or failed
    private var handedBack: [UInt8] = []    // bytes given to `unread`, returned first
    private var writeHandler: (() -> Void)?
    private var writeReady = false          // an output edge no handler has seen yet
    private var shutdownPending = false     // a half-close waits for the end of the poll set's batch
    public private(set) var isClosed = false

    public init(socket: Socket, loop: IOLoop) {
        self.socket = socket
        self.loop = loop
    }

    // MARK: Reading

    /// Sets what runs when the socket is readable (replacing any earlier handler) and starts watching.
    public func setReadHandler(_ handler: @escaping () -> Void) {
        guard !isClosed else { return }
        readHandler = handler
        register()
        resumeReading()
    }

    public func pauseReading() {
        reading = false
    }

    public func resumeReading() {
        guard !isClosed, readHandler != nil, !reading else { return }
        reading = true
        if readReady || !drained { deliverLater(read: true) }
    }

    /// Reads from the socket, noting whether it is now drained. nil: it would block.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int? {
        if !handedBack.isEmpty {
            let count = min(buffer.count, handedBack.count)
            handedBack.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            handedBack.removeFirst(count)
            drained = false   // the socket itself was not read: it may hold more
            return count
        }
        do {
            let count = try socket.read(into: buffer)
            noteRead(count)
            return count
        } catch {
            drained = true
            throw error
        }
    }

    /// For reads made around `read(into:)` (splice): the count moved, nil when it would have blocked.
    public func noteRead(_ count: Int?) {
        drained = count == nil || count == 0
    }

    public func unread(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        handedBack = bytes + handedBack
        drained = false
        if reading { deliverLater(read: true) }
    }

    public var spliceDescriptor: Int32? { handedBack.isEmpty && !isClosed ? socket.fd : nil }

    // MARK: Writing

    public func write(_ bytes: UnsafeRawBufferPointer) throws(SocketError) -> Int? {
        try socket.write(bytes)
    }

    /// Half-closes now, or at the end of the poll set's current batch when called from an event
    /// handler: if the channel closes before that, `close` sends the FIN and the `shutdown` call is
    /// saved (a tunnel's last direction to end does exactly that). Nothing is written after a
    /// half-close, so the delay reorders nothing.
    public func shutdownWrite() {
        guard !isClosed, !shutdownPending else { return }
        if loop.pollSet.deferShutdown(of: self) {
            shutdownPending = true
        } else {
            socket.shutdownWrite()
        }
    }

    /// The poll set's batch is over: the deferred half-close, unless the channel closed meanwhile.
    func finishShutdown() {
        guard shutdownPending else { return }
        shutdownPending = false
        if !isClosed { socket.shutdownWrite() }
    }

    public func resetOnClose() {
        socket.setLingerZero()
    }

    /// Runs `handler` once the socket can take more bytes; keeps running it on each new edge until
    /// `stopAwaitingWritable`. Call it after a write would block (or a connect is in progress).
    public func awaitWritable(_ handler: @escaping () -> Void) {
        guard !isClosed else { return }
        writeHandler = handler
        register()
        if writeReady { deliverLater(read: false) }
    }

    public func stopAwaitingWritable() {
        writeHandler = nil
    }

    /// Writes all of `bytes`: now as far as the socket takes them, the rest as it drains; then
    /// `completion` runs on the loop's queue with nil, or the error that ended the write. For the
    /// proxy's own short messages (the `200`, an error answer); bodies go through a pump.
    public func send(_ bytes: [UInt8], then completion: @escaping (SocketError?) -> Void) {
        var remaining = bytes[...]
        /// nil while bytes remain and the socket would block; else the outcome.
        func flush() -> SocketError?? {
            while !remaining.isEmpty {
                let step = remaining.withUnsafeBytes { raw in Result { () throws(SocketError) in try write(raw) } }
                switch step {
                case .success(let n?): remaining = remaining.dropFirst(n)
                case .success(nil): return nil
                case .failure(let error): return .some(error)
                }
            }
            return .some(nil)
        }
        guard !isClosed else { return }
        if let outcome = flush() {
            completion(outcome)
            return
        }
        awaitWritable { [self] in
            guard let outcome = flush() else { return }
            stopAwaitingWritable()
            completion(outcome)
        }
    }

    // MARK: Closing

    /// Leaves the poll set and closes the descriptor. Idempotent.
    /// A half-close still waiting for the end of the batch is dropped: the close sends the FIN.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        readHandler = nil
        writeHandler = nil
        reading = false
        shutdownPending = false
        if token != 0 {
            loop.pollSet.remove(token: token, fd: socket.fd)
            token = 0
        }
        socket.close()
    }

    // MARK: Readiness (called by the poll set)

    func ready(_ bits: UInt32) {
        if bits & ATPGATE_READY_READ != 0 {
            readReady = true
            if reading { fireRead() }
        }
        if bits & ATPGATE_READY_WRITE != 0 && !isClosed {
            writeReady = true
            if writeHandler != nil { fireWrite() }
        }
    }

    private func register() {
        guard token == 0 else { return }
        if let token = loop.pollSet.add(self) {
            self.token = token
        } else {
            // Not watchable (should not happen for a socket): let the handlers meet the error now.
            readReady = true
            writeReady = true
        }
    }

    private func fireRead() {
        readReady = false
        readHandler?()
    }

    private func fireWrite() {
        writeReady = false
        writeHandler?()
    }

    /// A remembered edge, delivered on the next turn of the queue (never from inside the call that
    /// resumed, whose caller may be mid-way through its own state change).
    private func deliverLater(read: Bool) {
        loop.queue.async { [self] in
            guard !isClosed else { return }
            if read {
                if reading && (readReady || !drained) { fireRead() }
            } else if writeHandler != nil && writeReady {
                fireWrite()
            }
        }
    }
}
