#if canImport(Glibc)
import Glibc
#endif
import AtpgateTLS
import COpenSSL
import CAtpgateOpenSSL

/// One blocking TLS connection over a connected socket (the socket's send/receive timeouts bound every
/// call), with the buffered reads the benchmarks need: an HTTP head, an exact count, the end. Used by both
/// the sink and the generator; owns the `SSL`, not the socket.
final class TLSBenchConnection {
    let ssl: OpaquePointer
    let fd: Int32
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0

    init(context: TLSBenchContext, fd: Int32) throws(BenchError) {
        OpenSSL.drainErrorQueue()
        guard let ssl = SSL_new(context.context) else { throw TLSBenchContext.failure("SSL_new") }
        self.ssl = ssl
        self.fd = fd
        // 64 KiB: room for several 16 KiB records' plaintext, so one refill rarely splits a head.
        buffer = [UInt8](repeating: 0, count: 65536)
        guard SSL_set_fd(ssl, fd) == 1 else { throw TLSBenchContext.failure("SSL_set_fd") }
    }

    deinit { SSL_free(ssl) }

    /// The client's handshake: SNI `host`, the server's certificate checked for `host` as well as its chain.
    func connect(host: String) throws(BenchError) {
        guard atpgate_ssl_set_tlsext_host_name(ssl, host) == 1, let parameters = SSL_get0_param(ssl),
              X509_VERIFY_PARAM_set1_host(parameters, host, 0) == 1 else {
            throw TLSBenchContext.failure("the server name \(host)")
        }
        OpenSSL.drainErrorQueue()
        let result = SSL_connect(ssl)
        guard result == 1 else { throw failure("handshake (SSL_connect)", result) }
    }

    /// The server's handshake (the context requires and verifies a client certificate).
    func accept() throws(BenchError) {
        OpenSSL.drainErrorQueue()
        let result = SSL_accept(ssl)
        guard result == 1 else { throw failure("handshake (SSL_accept)", result) }
    }

    /// "TLSv1.3 TLS_AES_256_GCM_SHA384": what the handshake settled on.
    var negotiated: String {
        let version = SSL_get_version(ssl).map { String(cString: $0) } ?? "?"
        let cipher = SSL_get_current_cipher(ssl).flatMap { SSL_CIPHER_get_name($0) }.map { String(cString: $0) } ?? "?"
        return "\(version) \(cipher)"
    }

    func write(_ bytes: [UInt8]) throws(BenchError) {
        let result = bytes.withUnsafeBytes { raw in Result { () throws(BenchError) in try write(raw.baseAddress!, raw.count) } }
        try result.get()
    }

    func write(_ base: UnsafeRawPointer, _ count: Int) throws(BenchError) {
        var done = 0
        while done < count {
            var written = 0
            OpenSSL.drainErrorQueue()
            let result = SSL_write_ex(ssl, base + done, count - done, &written)
            guard result == 1 else { throw failure("write", result) }
            done += written
        }
    }

    /// Sends close_notify without waiting for the peer's (the benchmarks' servers close first).
    func shutdown() {
        OpenSSL.drainErrorQueue()
        _ = SSL_shutdown(ssl)
        OpenSSL.drainErrorQueue()
    }

    // MARK: Reading

    /// One SSL_read into the buffer (at most one record's plaintext); 0 at the peer's close.
    private func fill() throws(BenchError) -> Int {
        if start == end { start = 0; end = 0 }
        if end == buffer.count {
            guard start > 0 else { throw .proto("TLS read buffer full") }
            buffer.withUnsafeMutableBytes { raw in _ = memmove(raw.baseAddress!, raw.baseAddress! + start, end - start) }
            end -= start
            start = 0
        }
        var count = 0
        OpenSSL.drainErrorQueue()
        let result = buffer.withUnsafeMutableBytes { raw in SSL_read_ex(ssl, raw.baseAddress! + end, raw.count - end, &count) }
        if result == 1 {
            end += count
            return count
        }
        if SSL_get_error(ssl, result) == SSL_ERROR_ZERO_RETURN { return 0 }
        throw failure("read", result)
    }

    /// The bytes up to and including CRLFCRLF (at most 16 KiB).
    func readHead() throws(BenchError) -> [UInt8] {
        var searched = 0
        while true {
            var index = start + max(0, searched - 3)
            while index + 3 < end {
                if buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13 && buffer[index + 3] == 10 {
                    let head = Array(buffer[start..<(index + 4)])
                    start = index + 4
                    return head
                }
                index += 1
            }
            searched = end - start
            guard searched < 16384 else { throw .proto("head too large") }
            if try fill() == 0 { throw .proto(BenchError.eofBeforeHead) }
        }
    }

    /// Consumes exactly `count` bytes.
    func skip(_ count: UInt64) throws(BenchError) {
        var left = count
        while left > 0 {
            if start == end, try fill() == 0 { throw .proto("EOF with \(left) bytes still expected") }
            let take = min(left, UInt64(end - start))
            start += Int(take)
            left -= take
        }
    }

    /// Reads until the peer's close; returns how many bytes came before it (the benchmarks expect none).
    func readToClose() throws(BenchError) -> Int {
        var extra = end - start
        start = end
        while true {
            let count = try fill()
            if count == 0 { return extra }
            extra += count
            start = end
        }
    }

    /// `what` failed: OpenSSL's verdict (SSL_get_error), the certificate check's result when it failed,
    /// errno for a socket error or time-out, and the queued reasons.
    private func failure(_ what: String, _ result: Int32) -> BenchError {
        let code = errno
        let kind = SSL_get_error(ssl, result)
        var text = "TLS \(what) failed (SSL_get_error \(kind))"
        let verify = SSL_get_verify_result(ssl)
        if verify != X509_V_OK { text += ", certificate: \(String(cString: X509_verify_cert_error_string(verify)))" }
        if kind == SSL_ERROR_SYSCALL || kind == SSL_ERROR_WANT_READ || kind == SSL_ERROR_WANT_WRITE {
            text += code == EAGAIN ? ", timed out" : (code != 0 ? ", \(String(cString: strerror(code)))" : ", EOF")
        }
        let reasons = OpenSSL.drainErrorQueue()
        if !reasons.isEmpty { text += ": " + reasons.joined(separator: "; ") }
        return .proto(text)
    }
}
