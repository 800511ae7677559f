import Dispatch

/// Owns one socket and the Dispatch sources that watch it. Confined to `loop.queue`
/// (hence `@unchecked Sendable`).
///
/// - The read source is created on first use; the write source only when a write would block, so
///   a short tunnel arms as few sources as possible (each event costs an epoll re-arm).
/// - Sources start suspended; pause/resume keep an exact suspension count, since cancelling a
///   suspended source never runs its cancel handler and releasing one crashes.
/// - The descriptor is closed only after every source's cancel handler has run: libdispatch may
///   still hold the fd until then, and closing early lets the number be reused under it.
final class SocketChannel: @unchecked Sendable {
    let socket: Socket
    let loop: IOLoop

    private var readSource: DispatchSourceRead?
    private var readSuspended = false
    private var writeSource: DispatchSourceWrite?
    private var writeSuspended = false
    private var liveSources = 0
    private(set) var isClosed = false

    init(socket: Socket, loop: IOLoop) {
        self.socket = socket
        self.loop = loop
    }

    // MARK: Reading

    /// Sets what runs when the socket is readable (replacing any earlier handler) and starts watching.
    func setReadHandler(_ handler: @escaping () -> Void) {
        guard !isClosed else { return }
        if let source = readSource {
            source.setEventHandler(handler: handler)
        } else {
            let source = DispatchSource.makeReadSource(fileDescriptor: socket.fd, queue: loop.queue)
            source.setEventHandler(handler: handler)
            source.setCancelHandler { [self] in sourceCancelled() }
            liveSources += 1
            readSource = source
            readSuspended = true
        }
        resumeReading()
    }

    func pauseReading() {
        guard let source = readSource, !readSuspended else { return }
        source.suspend()
        readSuspended = true
    }

    func resumeReading() {
        guard let source = readSource, readSuspended, !isClosed else { return }
        readSuspended = false
        source.resume()
    }

    // MARK: Writing

    /// Runs `handler` once the socket can take more bytes; keeps firing until `stopAwaitingWritable`.
    func awaitWritable(_ handler: @escaping () -> Void) {
        guard !isClosed else { return }
        if writeSource == nil {
            let source = DispatchSource.makeWriteSource(fileDescriptor: socket.fd, queue: loop.queue)
            source.setCancelHandler { [self] in sourceCancelled() }
            liveSources += 1
            writeSource = source
            writeSuspended = true
        }
        writeSource?.setEventHandler(handler: handler)
        if writeSuspended {
            writeSuspended = false
            writeSource?.resume()
        }
    }

    func stopAwaitingWritable() {
        guard let source = writeSource, !writeSuspended else { return }
        source.suspend()
        writeSuspended = true
    }

    // MARK: Closing

    /// Cancels the sources and closes the descriptor once they are gone. Idempotent.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        if let source = readSource {
            source.setEventHandler(handler: nil)
            source.cancel()
            if readSuspended { readSuspended = false; source.resume() }
            readSource = nil
        }
        if let source = writeSource {
            source.setEventHandler(handler: nil)
            source.cancel()
            if writeSuspended { writeSuspended = false; source.resume() }
            writeSource = nil
        }
        if liveSources == 0 {
            socket.close()
        }
    }

    private func sourceCancelled() {
        liveSources -= 1
        if liveSources == 0 && isClosed {
            socket.close()
        }
    }
}
