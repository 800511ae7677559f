#if canImport(Glibc)
import Glibc
#endif
import AtpgateIO
import COpenSSL
import CAtpgateOpenSSL

extension TLSStream {
    /// Runs the handshake without blocking: each step goes as far as the bytes at hand allow, flushes what
    /// the SSL wrote, and when the SSL wants more waits for the socket to be readable. `completion` runs
    /// once, on the loop's queue, never inside this call, and not at all once the stream is closed.
    ///
    /// The handshake has no timer of its own: the caller bounds it (the proxy's head timeout) and closes
    /// the stream when it runs out. A second call does nothing.
    public func handshake(completion: @escaping (Result<TLSHandshakeInfo, TLSHandshakeError>) -> Void) {
        guard phase == .idle, !isClosed else { return }
        phase = .handshaking
        handshakeCompletion = completion
        insideHandshakeCall = true
        defer { insideHandshakeCall = false }
        transport.setReadHandler { [self] in transportReadable() }
        advanceHandshake()
    }

    /// One round of the handshake: until it completes, fails, or waits for the socket.
    func advanceHandshake() {
        while phase == .handshaking {
            ERR_clear_error()
            let result = SSL_do_handshake(ssl)
            let outcome = result == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl, result)
            if outcome != SSL_ERROR_NONE && outcome != SSL_ERROR_WANT_READ {
                // Read the error queue before anything else runs on this thread.
                sslFailed = true
                let failure = TLSHandshakeError.drained(from: ssl, sslError: outcome)
                flushCiphertext(waitIfBlocked: false)   // the alert OpenSSL wrote for the peer
                fail(failure)
                return
            }
            // A write error waits: the peer's alert may be readable behind it, and says more.
            if writeError == nil { flushCiphertext(waitIfBlocked: true) }
            if result == 1 {
                succeed()
                return
            }
            let pulled: Pull
            do {
                pulled = try pullCiphertext()
            } catch {
                fail(.transport(error))
                return
            }
            switch pulled {
            case .fed:
                continue
            case .wouldBlock:
                if let writeError { fail(.transport(writeError)) }
                return
            case .ended:
                transportEnded = true
                fail(writeError.map { .transport($0) } ?? .peerClosed)
                return
            }
        }
    }

    private func succeed() {
        phase = .established
        let info = TLSHandshakeInfo(completed: ssl)
        handshakeInfo = info
        // Paused and resumed, the transport redelivers socket bytes the handshake left unread.
        transport.pauseReading()
        if reading {
            transport.resumeReading()
            if holdsInput { deliverReadLater() }
        }
        complete(.success(info))
    }

    private func fail(_ failure: TLSHandshakeError) {
        phase = .failed
        lastFailure = failure
        transport.pauseReading()
        complete(.failure(failure))
    }

    private func complete(_ result: Result<TLSHandshakeInfo, TLSHandshakeError>) {
        if insideHandshakeCall {
            loop.queue.async { [self] in complete(result) }   // `close` meanwhile drops the completion
            return
        }
        guard let completion = handshakeCompletion else { return }
        handshakeCompletion = nil
        completion(result)
    }
}
