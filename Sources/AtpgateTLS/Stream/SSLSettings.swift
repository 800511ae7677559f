import COpenSSL
import CAtpgateOpenSSL

/// What both TLS contexts share, and the per-connection certificate set-up both sides use.
enum SSLSettings {
    /// TLS 1.2 or newer; no renegotiation; no resumption (no session cache, no tickets: every connection
    /// makes a full handshake, so every client certificate is verified afresh); smaller idle connections;
    /// exactly the chain given is sent (no chain built from the trust store).
    static func applyCommon(to context: OpaquePointer, operation: String) throws(OpenSSLError) {
        guard atpgate_ssl_ctx_set_min_proto_version(context, TLS1_2_VERSION) == 1 else {
            throw .drain("\(operation): setting TLS 1.2 as the minimum")
        }
        SSL_CTX_set_options(context, atpgate_ssl_op_no_renegotiation() | atpgate_ssl_op_no_ticket())
        _ = atpgate_ssl_ctx_set_session_cache_mode(context, Int(SSL_SESS_CACHE_OFF))
        // Release the record buffers while a connection is idle (most tunnels are idle most of the time).
        _ = atpgate_ssl_ctx_set_mode(context, Int(SSL_MODE_RELEASE_BUFFERS | SSL_MODE_NO_AUTO_CHAIN))
    }

    /// Trust anchors added to the context's store. Partial chains: a configured intermediate is an anchor
    /// too (as curl does), so operators may name the issuing CA rather than its root.
    static func trust(_ certificates: [Certificate], in context: OpaquePointer, operation: String) throws(OpenSSLError) {
        guard let store = SSL_CTX_get_cert_store(context) else { throw .drain("\(operation): no certificate store") }
        for certificate in certificates {
            guard X509_STORE_add_cert(store, certificate.x509) == 1 else { throw .drain("\(operation): adding a trusted certificate") }
        }
        X509_STORE_set_flags(store, UInt(X509_V_FLAG_PARTIAL_CHAIN))
    }

    /// This connection presents `chain` (leaf first; all of it is sent) with `key`.
    static func use(chain: [Certificate], key: PrivateKey, on ssl: OpaquePointer, operation: String) throws(OpenSSLError) {
        guard let leaf = chain.first else { throw OpenSSLError("\(operation): no certificate", reasons: []) }
        guard SSL_use_certificate(ssl, leaf.x509) == 1 else { throw .drain("\(operation): using the certificate") }
        for certificate in chain.dropFirst() {
            guard atpgate_ssl_add1_chain_cert(ssl, certificate.x509) == 1 else { throw .drain("\(operation): adding the chain") }
        }
        guard SSL_use_PrivateKey(ssl, key.pkey) == 1, SSL_check_private_key(ssl) == 1 else {
            throw .drain("\(operation): the private key does not match the certificate")
        }
    }
}
