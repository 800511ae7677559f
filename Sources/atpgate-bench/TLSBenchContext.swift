import AtpgateTLS
import COpenSSL
import CAtpgateOpenSSL

/// An OpenSSL context for the inspection benchmarks (`tls-sink` and the inspect scenarios): TLS 1.2 or
/// newer, one certificate and key presented, peers verified against a PEM bundle, and no resumption of
/// any kind (no session cache, no tickets), so that every connection pays a full mutual-TLS handshake —
/// the cost issue 11 asks to compare. One context serves every thread (OpenSSL allows `SSL_new` on many
/// threads at once), hence `@unchecked Sendable`; it lives as long as the process.
final class TLSBenchContext: @unchecked Sendable {
    let context: OpaquePointer

    /// OpenSSL 3's SSL_OP_IGNORE_UNEXPECTED_EOF (SSL_OP_BIT(7), a macro Swift cannot import): a TCP close
    /// without close_notify reads as an orderly end. Every response is framed by Content-Length, so a missing
    /// close_notify truncates nothing the benchmark counts.
    private static let ignoreUnexpectedEOF: UInt64 = 1 << 7

    private init(method: OpaquePointer?, certificate: String, key: String, trust: String, operation: String) throws(BenchError) {
        OpenSSL.drainErrorQueue()
        guard let context = SSL_CTX_new(method) else { throw Self.failure(operation) }
        self.context = context
        guard atpgate_ssl_ctx_set_min_proto_version(context, TLS1_2_VERSION) == 1 else { throw Self.failure("\(operation): TLS 1.2 minimum") }
        SSL_CTX_set_options(context, atpgate_ssl_op_no_ticket() | Self.ignoreUnexpectedEOF)
        _ = atpgate_ssl_ctx_set_session_cache_mode(context, Int(SSL_SESS_CACHE_OFF))
        try use(certificate: certificate, key: key, operation: operation)
        try trustBundle(trust, operation: operation)
    }

    deinit { SSL_CTX_free(context) }

    /// The sink's side: presents `certificate`, requires a client certificate that chains to `clientCA`.
    static func server(certificate: String, key: String, clientCA: String) throws(BenchError) -> TLSBenchContext {
        let operation = "the tls-sink context"
        let result = try TLSBenchContext(method: TLS_server_method(), certificate: certificate, key: key, trust: clientCA,
                                         operation: operation)
        SSL_CTX_set_num_tickets(result.context, 0)   // TLS 1.3 tickets (SSL_OP_NO_TICKET covers 1.2)
        let sessionContext = Array("atpgate-bench".utf8)
        SSL_CTX_set_session_id_context(result.context, sessionContext, UInt32(sessionContext.count))
        SSL_CTX_set_verify(result.context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        // The CertificateRequest names the acceptable CAs, as a real server that requires certificates does.
        guard let names = SSL_load_client_CA_file(clientCA) else { throw failure("\(operation): the client CA names of \(clientCA)") }
        SSL_CTX_set_client_CA_list(result.context, names)
        return result
    }

    /// A client's side: presents `certificate`, verifies the server against `trust` (the name is checked per
    /// connection: `TLSBenchConnection`).
    static func client(certificate: String, key: String, trust: String) throws(BenchError) -> TLSBenchContext {
        let result = try TLSBenchContext(method: TLS_client_method(), certificate: certificate, key: key, trust: trust,
                                         operation: "the client context (\(certificate))")
        SSL_CTX_set_verify(result.context, SSL_VERIFY_PEER, nil)
        return result
    }

    /// The leaf of `certificate` and the key, through AtpgateTLS's loaders (which also insist on an
    /// owner-only key file, as atpgate does).
    private func use(certificate: String, key: String, operation: String) throws(BenchError) {
        do {
            guard let leaf = try Certificate.chain(file: certificate).first else {
                throw BenchError.proto("\(operation): no certificate in \(certificate)")
            }
            let privateKey = try PrivateKey.load(file: key)
            guard SSL_CTX_use_certificate(context, leaf.x509) == 1, SSL_CTX_use_PrivateKey(context, privateKey.pkey) == 1,
                  SSL_CTX_check_private_key(context) == 1 else {
                throw Self.failure("\(operation): \(certificate) with \(key)")
            }
        } catch let error as BenchError {
            throw error
        } catch {
            throw .proto("\(operation): \(error)")
        }
    }

    /// Every certificate of the PEM bundle `path` becomes a trust anchor.
    private func trustBundle(_ path: String, operation: String) throws(BenchError) {
        let anchors: [Certificate]
        do {
            anchors = try Certificate.chain(file: path)
        } catch {
            throw .proto("\(operation): \(error)")
        }
        guard let store = SSL_CTX_get_cert_store(context) else { throw Self.failure("\(operation): no certificate store") }
        for anchor in anchors where X509_STORE_add_cert(store, anchor.x509) != 1 {
            throw Self.failure("\(operation): trusting \(path)")
        }
    }

    /// `what` and OpenSSL's queued reasons (the queue is left empty).
    static func failure(_ what: String) -> BenchError {
        .proto(OpenSSLError.drain(what).description)
    }
}
