import AtpgateIO
import COpenSSL

extension TLSStream {
    /// No more bytes will be written: close_notify (one `SSL_shutdown`, which does not wait for the peer's),
    /// then the TCP half-close once the ciphertext before it has reached the socket. Reading goes on. After
    /// a failure, or before the handshake completed, only the TCP half-close.
    public func shutdownWrite() {
        guard !isClosed, !writeShutDown else { return }
        writeShutDown = true
        guard phase == .established, !sslFailed, writeError == nil else {
            if writeError == nil { transport.shutdownWrite() }
            return
        }
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
        guard flushCiphertext(waitIfBlocked: true) == nil else { return }
        if pendingCiphertext == 0 {
            transport.shutdownWrite()
        } else {
            halfClosePending = true
        }
    }

    /// The close sends a reset (and no close_notify): a reset on the other leg propagates.
    public func resetOnClose() {
        resetRequested = true
        transport.resetOnClose()
    }

    /// Closes the socket. Unless resetting, close_notify is sent first after a completed handshake, never
    /// after a fatal error (an SSL in error must not be shut down), and the ciphertext pending (an alert
    /// included) is written as far as the socket takes it now: nothing waits. Idempotent; no handler or
    /// completion runs afterwards.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        readHandler = nil
        writeHandler = nil
        reading = false
        handshakeCompletion = nil
        halfClosePending = false
        if !resetRequested && writeError == nil {
            if phase == .established && !sslFailed && !writeShutDown {
                writeShutDown = true
                ERR_clear_error()
                _ = SSL_shutdown(ssl)
                ERR_clear_error()
            }
            flushCiphertext(waitIfBlocked: false)
        }
        awaitingTransport = false
        transport.close()
    }
}
