#if canImport(Glibc)
import Glibc
#endif
import AtpgateIO
import COpenSSL
import CAtpgateOpenSSL

extension TLSStream {
    /// Encrypts what fits under `ciphertextBound` and flushes it. nil: the socket has not taken enough of
    /// the ciphertext before; `awaitWritable`'s handler runs once it has taken all of it.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(SocketError) -> Int? {
        if let writeError { throw writeError }
        guard !isClosed else { throw SocketError("SSL_write", errno: EBADF) }
        guard !sslFailed else { throw SocketError("SSL_write", errno: EPROTO) }
        guard phase == .established else { throw SocketError("SSL_write", errno: ENOTCONN) }
        guard !writeShutDown else { throw SocketError("SSL_write", errno: EPIPE) }
        guard let base = bytes.baseAddress, bytes.count > 0 else { return 0 }
        if pendingCiphertext > 0, let error = flushCiphertext(waitIfBlocked: true) { throw error }
        let room = Self.ciphertextBound - pendingCiphertext
        guard room > 0 else { return nil }
        ERR_clear_error()
        let count = SSL_write(ssl, base, Int32(min(bytes.count, room)))
        guard count > 0 else {
            // A memory BIO never blocks: anything but success is a failure of the SSL.
            sslFailed = true
            lastFailure = .drained(from: ssl, sslError: SSL_get_error(ssl, count))
            flushCiphertext(waitIfBlocked: false)   // the alert OpenSSL queued for the peer, if any
            throw SocketError("SSL_write", errno: EPROTO)
        }
        if let error = flushCiphertext(waitIfBlocked: true) { throw error }
        return Int(count)
    }

    /// Runs `handler` once all pending ciphertext has reached the socket (at once, on the next turn, when
    /// none is pending or the stream has failed, so it meets the error); again each time it has drained
    /// after more writes, until `stopAwaitingWritable`.
    public func awaitWritable(_ handler: @escaping () -> Void) {
        guard !isClosed else { return }
        writeHandler = handler
        if pendingCiphertext == 0 || writeError != nil || sslFailed { deliverWriteLater() }
    }

    /// The handler stops; ciphertext already accepted is still flushed.
    public func stopAwaitingWritable() {
        writeHandler = nil
    }

    /// Writes all of `bytes`, then runs `completion` with nil once their ciphertext has reached the socket
    /// (so a close right after loses none of it), or with the error that ended the write.
    public func send(_ bytes: [UInt8], then completion: @escaping (SocketError?) -> Void) {
        var remaining = bytes[...]
        /// nil while bytes or their ciphertext remain and the socket would block; else the outcome.
        func flush() -> SocketError?? {
            while !remaining.isEmpty {
                let step = remaining.withUnsafeBytes { raw in Result { () throws(SocketError) in try write(raw) } }
                switch step {
                case .success(let n?): remaining = remaining.dropFirst(n)
                case .success(nil): return nil
                case .failure(let error): return .some(error)
                }
            }
            if let writeError { return .some(writeError) }
            return pendingCiphertext == 0 ? .some(nil) : nil
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

    // MARK: Ciphertext out

    /// Ciphertext in the write BIO the socket has not taken yet.
    var pendingCiphertext: Int { Int(BIO_ctrl_pending(writeBIO)) }

    /// Moves the write BIO's ciphertext to the socket until it is empty or the socket would block. Then,
    /// with `waitIfBlocked`, the transport's writable handler carries on (`transportWritable`); without it
    /// (closing) what the socket did not take is left. A socket error is kept (`writeError`, and
    /// `lastFailure` if none yet) and returned.
    @discardableResult
    func flushCiphertext(waitIfBlocked: Bool) -> SocketError? {
        if let writeError { return writeError }
        guard !transport.isClosed else { return nil }
        while true {
            var data: UnsafeMutablePointer<CChar>?
            let length = atpgate_bio_get_mem_data(writeBIO, &data)
            guard length > 0, let data else { break }
            let written: Int?
            do {
                written = try transport.write(UnsafeRawBufferPointer(start: data, count: length))
            } catch {
                writeError = error
                if lastFailure == nil { lastFailure = .transport(error) }
                stopAwaitingTransport()
                return error
            }
            guard let written else {
                if waitIfBlocked { awaitTransport() }
                return nil
            }
            discardCiphertext(written)
        }
        stopAwaitingTransport()
        return nil
    }

    /// Drops `count` bytes the socket took from the front of the write BIO. A memory BIO has no skip: they
    /// are read into a scratch area on the stack (never the loop's scratch buffer, which may hold the very
    /// plaintext being written).
    private func discardCiphertext(_ count: Int) {
        withUnsafeTemporaryAllocation(byteCount: 16 * 1024, alignment: 16) { sink in
            var left = count
            while left > 0 {
                let taken = BIO_read(writeBIO, sink.baseAddress, Int32(min(left, sink.count)))
                guard taken > 0 else { return }
                left -= Int(taken)
            }
        }
    }

    private func awaitTransport() {
        guard !awaitingTransport else { return }
        awaitingTransport = true
        transport.awaitWritable { [self] in transportWritable() }
    }

    private func stopAwaitingTransport() {
        guard awaitingTransport else { return }
        awaitingTransport = false
        transport.stopAwaitingWritable()
    }

    /// The socket takes more: flush; once nothing is pending, the half-close waiting for it, then the
    /// writer's handler. A socket error goes to the writer's handler, which meets it on its next write.
    private func transportWritable() {
        if flushCiphertext(waitIfBlocked: true) != nil {
            halfClosePending = false
            writeHandler?()
            return
        }
        guard pendingCiphertext == 0 else { return }
        if halfClosePending {
            halfClosePending = false
            transport.shutdownWrite()
        }
        if phase == .established { writeHandler?() }
    }

    /// Runs the write handler on the next turn of the queue if it can write (or meet its error) then.
    private func deliverWriteLater() {
        guard !writeDeliveryQueued else { return }
        writeDeliveryQueued = true
        loop.queue.async { [self] in
            writeDeliveryQueued = false
            guard !isClosed, pendingCiphertext == 0 || writeError != nil || sslFailed else { return }
            writeHandler?()
        }
    }
}
