#if canImport(Glibc)
import Glibc
#endif
import AtpgateNet
import AtpgateTLS
import COpenSSL
import CAtpgateOpenSSL

/// The OpenSSL client context of the tls step: TLS 1.2 or newer (what the proxy's inspector also requires),
/// the peer's chain verified against the system store or the `--cafile` bundle. One per run; the host name
/// is set per connection (`TLSSession`).
final class DoctorTLSContext {
    let context: OpaquePointer

    /// OpenSSL 3's SSL_OP_IGNORE_UNEXPECTED_EOF (SSL_OP_BIT(7), a macro Swift cannot import): a ping answer
    /// that ends with a TCP close and no close_notify (HTTP/1.0 style, `openssl s_server -WWW`) reads as its end.
    private static let ignoreUnexpectedEOF: UInt64 = 1 << 7

    init(caFile: String?) throws(DoctorError) {
        OpenSSL.drainErrorQueue()
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw DoctorError(OpenSSLError.drain("setting up the TLS context").description)
        }
        self.context = context
        guard atpgate_ssl_ctx_set_min_proto_version(context, TLS1_2_VERSION) == 1 else {
            throw DoctorError(OpenSSLError.drain("setting TLS 1.2 as the minimum").description)
        }
        SSL_CTX_set_options(context, Self.ignoreUnexpectedEOF)
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        guard let caFile else {
            guard SSL_CTX_set_default_verify_paths(context) == 1 else {
                throw DoctorError(OpenSSLError.drain("loading the system trust store").description)
            }
            return
        }
        let anchors: [Certificate]
        do {
            anchors = try Certificate.chain(file: caFile)
        } catch {
            throw DoctorError("--cafile \(error)")
        }
        guard let store = SSL_CTX_get_cert_store(context) else {
            throw DoctorError(OpenSSLError.drain("--cafile: no certificate store").description)
        }
        for anchor in anchors where X509_STORE_add_cert(store, anchor.x509) != 1 {
            throw DoctorError(OpenSSLError.drain("--cafile \(caFile): adding a certificate").description)
        }
        // An intermediate given as the anchor is enough, as with curl and the inspector's upstream trust.
        X509_STORE_set_flags(store, UInt(X509_V_FLAG_PARTIAL_CHAIN))
    }

    deinit { SSL_CTX_free(context) }
}

/// One blocking TLS connection over a `TCPConnection` (whose socket time-outs bound every call).
final class TLSSession {
    private let ssl: OpaquePointer
    private let connection: TCPConnection

    init(context: DoctorTLSContext, connection: TCPConnection) throws(StepFailure) {
        OpenSSL.drainErrorQueue()
        guard let ssl = SSL_new(context.context) else {
            throw StepFailure(step: .tls, reason: OpenSSLError.drain("SSL_new").description)
        }
        self.ssl = ssl
        self.connection = connection
        guard SSL_set_fd(ssl, connection.fd) == 1 else {
            throw StepFailure(step: .tls, reason: OpenSSLError.drain("SSL_set_fd").description)
        }
    }

    deinit { SSL_free(ssl) }

    /// The tls step: SNI `host` and the certificate checked for it (no partial wildcards, as the proxy's
    /// inspector checks), the chain verified. An address gets no SNI (RFC 6066) and is checked as an
    /// address. Returns "TLSv1.3, issuer CN=…".
    func handshake(host: Host) throws(StepFailure) -> String {
        guard let parameters = SSL_get0_param(ssl) else {
            throw StepFailure(step: .tls, reason: OpenSSLError.drain("the host check").description)
        }
        switch host {
        case .name(let name):
            X509_VERIFY_PARAM_set_hostflags(parameters, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
            guard atpgate_ssl_set_tlsext_host_name(ssl, name) == 1, X509_VERIFY_PARAM_set1_host(parameters, name, 0) == 1 else {
                throw StepFailure(step: .tls, reason: OpenSSLError.drain("the server name \(name)").description)
            }
        case .ip(let address):
            guard X509_VERIFY_PARAM_set1_ip_asc(parameters, address.description) == 1 else {
                throw StepFailure(step: .tls, reason: OpenSSLError.drain("the address check for \(address)").description)
            }
        }
        OpenSSL.drainErrorQueue()
        let result = SSL_connect(ssl)
        guard result == 1 else { throw StepFailure(step: .tls, reason: failure("handshake", result)) }
        let version = SSL_get_version(ssl).map { String(cString: $0) } ?? "TLS"
        guard let peer = SSL_get1_peer_certificate(ssl) else { return version }
        return "\(version), issuer \(Certificate(taking: peer).issuer)"
    }

    func write(_ bytes: [UInt8]) throws(StepFailure) {
        var done = 0
        while done < bytes.count {
            var written = 0
            OpenSSL.drainErrorQueue()
            let result = bytes.withUnsafeBytes { SSL_write_ex(ssl, $0.baseAddress! + done, $0.count - done, &written) }
            guard result == 1 else { throw StepFailure(step: .ping, reason: failure("write", result)) }
            done += written
        }
    }

    /// Up to `limit` bytes (one record's worth at most); empty at the peer's close.
    func read(limit: Int) throws(StepFailure) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: limit)
        var count = 0
        OpenSSL.drainErrorQueue()
        let result = buffer.withUnsafeMutableBytes { SSL_read_ex(ssl, $0.baseAddress, $0.count, &count) }
        if result == 1 { return Array(buffer[0..<count]) }
        let kind = SSL_get_error(ssl, result)
        if kind == SSL_ERROR_ZERO_RETURN { return [] }
        // With SSL_OP_IGNORE_UNEXPECTED_EOF a close without close_notify is reported as ZERO_RETURN; an EOF
        // with an empty error queue and no errno is the same thing on older libraries.
        if kind == SSL_ERROR_SYSCALL && errno == 0 && ERR_peek_error() == 0 { return [] }
        throw StepFailure(step: .ping, reason: failure("read", result))
    }

    /// Why `what` failed, for the table: the certificate check's verdict when it failed (the OpenSSL verify
    /// string: "unable to get local issuer certificate", "hostname mismatch"), a time-out or socket error,
    /// an EOF, or the library's queued reasons.
    private func failure(_ what: String, _ result: Int32) -> String {
        let code = errno
        let kind = SSL_get_error(ssl, result)
        let verify = SSL_get_verify_result(ssl)
        let reasons = OpenSSL.drainErrorQueue()
        if verify != X509_V_OK {
            return "certificate verify failed: \(String(cString: X509_verify_cert_error_string(verify)))"
        }
        if kind == SSL_ERROR_WANT_READ || kind == SSL_ERROR_WANT_WRITE || (kind == SSL_ERROR_SYSCALL && code == EAGAIN) {
            return "\(what) timed out"
        }
        if kind == SSL_ERROR_SYSCALL && reasons.isEmpty {
            return code != 0 ? "\(what): \(errnoText(code))" : "\(what): the server closed the connection"
        }
        if kind == SSL_ERROR_ZERO_RETURN { return "\(what): the server closed the connection" }
        let detail = reasons.map(Self.shortReason).joined(separator: "; ")
        return detail.isEmpty ? "\(what) failed (SSL error \(kind))" : "\(what) failed: \(detail)"
    }

    /// "error:0A000410:SSL routines::sslv3 alert handshake failure" -> "sslv3 alert handshake failure".
    private static func shortReason(_ reason: String) -> String {
        reason.split(separator: ":", omittingEmptySubsequences: false).last.map(String.init) ?? reason
    }
}
