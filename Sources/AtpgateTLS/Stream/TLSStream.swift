#if canImport(Glibc)
import Glibc
#endif
import AtpgateIO
import COpenSSL
import CAtpgateOpenSSL

/// TLS over one `SocketChannel`, as a `ByteStream`: the client-facing leg of an inspected tunnel (a server
/// stream) or its upstream leg (a client stream). One `SSL` per stream.
///
/// Memory BIOs, not a socket BIO: the loop owns readiness. The SSL never touches the descriptor; this class
/// moves ciphertext between the socket and the SSL: what the socket delivers is written into the read BIO
/// when the SSL asks for more, and what the SSL produces is taken from the write BIO and written to the
/// socket. So OpenSSL never blocks and never meets EAGAIN, every wait is a `SocketChannel` handler under
/// its edge-triggered rules, and nothing ever waits on a thread.
///
/// The `ByteStream` contract, the TLS way:
/// - `read` returns decrypted bytes, 0 at the end, nil when it would block. The end is the peer's
///   close_notify (`receivedCloseNotify`) or the socket's end of stream without one, which reads as 0 too
///   and sets `endedWithoutCloseNotify` (a possible truncation; HTTP framing tells whether bytes are
///   missing). The SSL never sees the socket's end, so it stays usable for writing (a half-close).
/// - Bytes the stream already holds (handed back, decrypted but not yet read, or ciphertext still in the
///   read BIO) are input no kernel event will announce: resuming, setting a handler, or the handshake's
///   end with such bytes held runs the read handler on the next turn of the queue (`holdsInput`).
/// - `write` encrypts into the write BIO and flushes it to the socket. The ciphertext the socket has not
///   taken is bounded (`ciphertextBound`): above it `write` returns nil, and `awaitWritable`'s handler runs
///   once it has all been written. While any is pending, the stream itself waits for the socket to be
///   writable, so bytes `write` accepted always leave, whoever waits.
/// - A read or write that fails keeps the TLS cause in `lastFailure` (e.g. `.peerAlert` when a TLS 1.3
///   server refuses our client certificate on the first read after the handshake), since the protocol's
///   error is a `SocketError`: those failures throw `SocketError(call: "SSL_read"/"SSL_write", errno: EPROTO)`.
///
/// Confined to `transport.loop.queue` (hence `@unchecked Sendable`); `close()` must be called (the
/// transport's handlers hold the stream until then).
public final class TLSStream: ByteStream, @unchecked Sendable {
    public let transport: SocketChannel
    public var loop: IOLoop { transport.loop }
    public let isServer: Bool

    /// Ciphertext the socket has not taken above which `write` takes nothing.
    public static let ciphertextBound = 64 * 1024
    /// How much ciphertext one socket read takes (two full records), into a stack area: never the loop's
    /// scratch buffer, which may be the very buffer the caller is reading plaintext into.
    static let pullSize = 32 * 1024

    /// The `SSL *` (owned; freed in deinit, so no call after `close` can touch freed memory).
    let ssl: OpaquePointer
    /// The memory BIOs, owned by `ssl`.
    let readBIO: OpaquePointer
    let writeBIO: OpaquePointer
    /// The context's Swift owner: keeps the `SSL_CTX`'s callbacks' arguments alive as long as the stream.
    let context: AnyObject

    enum Phase { case idle, handshaking, established, failed }
    var phase = Phase.idle
    var handshakeCompletion: ((Result<TLSHandshakeInfo, TLSHandshakeError>) -> Void)?
    /// True while `handshake` itself runs: a result known that early is delivered on the next turn.
    var insideHandshakeCall = false
    /// What the handshake settled (nil before it completes).
    public internal(set) var handshakeInfo: TLSHandshakeInfo?
    /// The last TLS failure: the handshake's, or a read's or write's after it (read it after an error).
    public internal(set) var lastFailure: TLSHandshakeError?

    // Reading
    var readHandler: (() -> Void)?
    var reading = false                 // a read handler is set and not paused
    var readDeliveryQueued = false
    var edgeUnseen = false              // the socket was readable while nobody read (defensive)
    var handedBack: [UInt8] = []        // plaintext given to `unread`, returned first
    var transportEnded = false          // the socket read its end of stream
    var endReported = false             // `read` returned 0
    var readError: SocketError?         // a read failed: every later read throws it again
    /// The peer's close_notify ended the stream.
    public internal(set) var receivedCloseNotify = false
    /// The socket's end of stream came without close_notify (read returned 0 all the same).
    public internal(set) var endedWithoutCloseNotify = false

    // Writing
    var writeHandler: (() -> Void)?
    var writeDeliveryQueued = false
    var awaitingTransport = false       // the transport's writable handler is set: ciphertext is pending
    var writeError: SocketError?        // the socket failed: every later write throws it
    var writeShutDown = false           // close_notify sent (or the write side otherwise ended)
    var halfClosePending = false        // TCP half-close once the ciphertext before it has left
    var sslFailed = false               // SSL_ERROR_SSL / SYSCALL: the SSL must not be shut down
    var resetRequested = false
    public internal(set) var isClosed = false

    /// Takes over `ssl` (in accept or connect state); `alreadyRead` goes into the read BIO first.
    init(ssl: OpaquePointer, transport: SocketChannel, isServer: Bool, context: AnyObject,
         alreadyRead: [UInt8]) throws(OpenSSLError) {
        let readBIO = BIO_new(BIO_s_mem()), writeBIO = BIO_new(BIO_s_mem())
        guard let readBIO, let writeBIO else {
            let error = OpenSSLError.drain("creating the TLS stream's buffers")
            BIO_free(readBIO)
            BIO_free(writeBIO)
            SSL_free(ssl)
            throw error
        }
        // An empty BIO reads as "retry", never as an end: the socket's end is this class's to report.
        _ = atpgate_bio_set_mem_eof_return(readBIO, -1)
        _ = atpgate_bio_set_mem_eof_return(writeBIO, -1)
        SSL_set_bio(ssl, readBIO, writeBIO)
        self.ssl = ssl
        self.readBIO = readBIO
        self.writeBIO = writeBIO
        self.transport = transport
        self.isServer = isServer
        self.context = context
        if !alreadyRead.isEmpty {
            let written = alreadyRead.withUnsafeBytes { BIO_write(readBIO, $0.baseAddress, Int32($0.count)) }
            guard written == Int32(alreadyRead.count) else { throw .drain("handing the bytes already read to TLS") }
        }
    }

    /// A server stream (see `TLSServerContext.makeStream`).
    public convenience init(server context: TLSServerContext, transport: SocketChannel, certificateChain: [Certificate],
                            privateKey: PrivateKey, alreadyRead: [UInt8] = []) throws(OpenSSLError) {
        let ssl = try context.makeSSL(chain: certificateChain, key: privateKey)
        try self.init(ssl: ssl, transport: transport, isServer: true, context: context, alreadyRead: alreadyRead)
    }

    /// A client stream (see `TLSClientContext.makeStream`).
    public convenience init(client context: TLSClientContext, transport: SocketChannel, host: String,
                            certificateChain: [Certificate] = [], privateKey: PrivateKey? = nil) throws(OpenSSLError) {
        let ssl = try context.makeSSL(host: host, chain: certificateChain, key: privateKey)
        try self.init(ssl: ssl, transport: transport, isServer: false, context: context, alreadyRead: [])
    }

    deinit {
        SSL_free(ssl)
    }

    // MARK: Reading

    public func setReadHandler(_ handler: @escaping () -> Void) {
        guard !isClosed else { return }
        readHandler = handler
        reading = false
        resumeReading()
    }

    public func pauseReading() {
        reading = false
        if phase == .established { transport.pauseReading() }
    }

    public func resumeReading() {
        guard !isClosed, readHandler != nil, !reading else { return }
        reading = true
        // Before the handshake ends the transport is the handshake's; its end resumes for the reader.
        guard phase == .established else { return }
        transport.resumeReading()   // redelivers an edge it kept, or socket bytes a handler left unread
        if holdsInput { deliverReadLater() }
    }

    /// Input no kernel event will announce: handed back, decrypted and unread, buffered in the SSL, or
    /// ciphertext in the read BIO.
    var holdsInput: Bool {
        !handedBack.isEmpty || edgeUnseen || SSL_pending(ssl) > 0 || SSL_has_pending(ssl) == 1 || BIO_ctrl_pending(readBIO) > 0
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int? {
        if !handedBack.isEmpty {
            let count = min(buffer.count, handedBack.count)
            handedBack.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            handedBack.removeFirst(count)
            return count
        }
        if let readError { throw readError }
        guard !isClosed else { throw SocketError("SSL_read", errno: EBADF) }
        guard phase == .established else { throw SocketError("SSL_read", errno: ENOTCONN) }
        if endReported { return 0 }
        guard let base = buffer.baseAddress, buffer.count > 0 else { return nil }   // no room: not an end
        edgeUnseen = false
        while true {
            ERR_clear_error()
            let count = SSL_read(ssl, base, Int32(clamping: buffer.count))
            if count > 0 {
                flushAfterRead()
                return Int(count)
            }
            let outcome = SSL_get_error(ssl, count)
            switch outcome {
            case SSL_ERROR_WANT_READ:
                flushAfterRead()
                if transportEnded {
                    // All ciphertext is consumed and no close_notify came: the end, as a plain socket's.
                    endReported = true
                    endedWithoutCloseNotify = true
                    return 0
                }
                let pulled: Pull
                do {
                    pulled = try pullCiphertext()
                } catch {
                    readError = error
                    lastFailure = .transport(error)
                    throw error
                }
                switch pulled {
                case .fed: continue
                case .wouldBlock: return nil
                case .ended: transportEnded = true
                }
            case SSL_ERROR_ZERO_RETURN:
                flushAfterRead()
                endReported = true
                receivedCloseNotify = true
                return 0
            default:
                sslFailed = true
                lastFailure = .drained(from: ssl, sslError: outcome)
                flushCiphertext(waitIfBlocked: false)   // the alert OpenSSL queued for the peer, if any
                let error = SocketError("SSL_read", errno: EPROTO)
                readError = error
                throw error
            }
        }
    }

    public func unread(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        handedBack = bytes + handedBack
        if reading { deliverReadLater() }
    }

    /// TLS bytes must be decrypted: never spliced.
    public var spliceDescriptor: Int32? { nil }

    /// Nothing reads around `read` here.
    public func noteRead(_ count: Int?) {}

    // MARK: Ciphertext in

    enum Pull { case fed, wouldBlock, ended }

    /// One socket read into the read BIO (called when the SSL wants more): `.fed` when bytes went in.
    func pullCiphertext() throws(SocketError) -> Pull {
        let outcome = withUnsafeTemporaryAllocation(byteCount: Self.pullSize, alignment: 16) { chunk -> Result<Pull, SocketError> in
            let count: Int?
            do throws(SocketError) {
                count = try transport.read(into: chunk)
            } catch {
                return .failure(error)
            }
            guard let count else { return .success(.wouldBlock) }
            guard count > 0 else { return .success(.ended) }
            guard BIO_write(readBIO, chunk.baseAddress, Int32(count)) == Int32(count) else {
                return .failure(SocketError("BIO_write", errno: ENOMEM))
            }
            return .success(.fed)
        }
        return try outcome.get()
    }

    /// A read may make the SSL answer (a TLS 1.3 key update, an alert): send it along.
    func flushAfterRead() {
        if BIO_ctrl_pending(writeBIO) > 0 { flushCiphertext(waitIfBlocked: true) }
    }

    /// A transport edge: the handshake's while it runs, the reader's after.
    func transportReadable() {
        switch phase {
        case .handshaking:
            advanceHandshake()
        case .established:
            if reading {
                readHandler?()
            } else {
                edgeUnseen = true
                transport.pauseReading()
            }
        case .idle, .failed:
            transport.pauseReading()
        }
    }

    /// Runs the read handler on the next turn of the queue if the stream still holds input then.
    func deliverReadLater() {
        guard !readDeliveryQueued else { return }
        readDeliveryQueued = true
        loop.queue.async { [self] in
            readDeliveryQueued = false
            guard !isClosed, reading, phase == .established, holdsInput || readError != nil else { return }
            readHandler?()
        }
    }
}
