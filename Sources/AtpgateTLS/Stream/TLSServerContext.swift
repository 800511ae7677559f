import AtpgateIO
import COpenSSL
import CAtpgateOpenSSL

/// The client-facing side of TLS inspection: how the proxy terminates a client's TLS. TLS 1.2 or newer,
/// ALPN settles on http/1.1 (a client that offers ALPN without it is sent no_application_protocol; one
/// that offers none is fine), no renegotiation, no resumption, and the client's certificate checked as
/// `ClientVerification` says. The server certificate is chosen per connection (`makeStream`): the
/// inspector mints a leaf for each CONNECT host.
///
/// Immutable once made; OpenSSL allows many `SSL` objects of one `SSL_CTX` on many threads, so one
/// context serves every loop (hence `@unchecked Sendable`).
public final class TLSServerContext: @unchecked Sendable {
    /// The `SSL_CTX *` (owned).
    let context: OpaquePointer
    public let clientVerification: ClientVerification?
    /// The cert-verify callback's argument: lives as long as the context (streams retain the context).
    private let clientCheck: ClientCertificateCheck?

    /// `clientVerification` nil: no certificate is asked of clients.
    public init(clientVerification: ClientVerification?) throws(OpenSSLError) {
        let operation = "setting up the client-facing TLS context"
        OpenSSL.drainErrorQueue()
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw .drain(operation) }
        let check = clientVerification.map(ClientCertificateCheck.init)
        do throws(OpenSSLError) {
            try SSLSettings.applyCommon(to: context, operation: operation)
            SSL_CTX_set_num_tickets(context, 0)   // TLS 1.3 tickets too
            let sessionContext = Array("atpgate".utf8)
            SSL_CTX_set_session_id_context(context, sessionContext, UInt32(sessionContext.count))
            SSL_CTX_set_alpn_select_cb(context, Self.selectHTTP11, nil)
            if let clientVerification, let check {
                try SSLSettings.trust(clientVerification.caCertificates, in: context, operation: operation)
                for ca in clientVerification.caCertificates {
                    guard SSL_CTX_add_client_CA(context, ca.x509) == 1 else { throw .drain("\(operation): listing the client CAs") }
                }
                let mode = SSL_VERIFY_PEER | (clientVerification.require ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0)
                SSL_CTX_set_verify(context, mode, nil)
                SSL_CTX_set_cert_verify_callback(context, ClientCertificateCheck.callback,
                                                 Unmanaged.passUnretained(check).toOpaque())
            }
        } catch {
            SSL_CTX_free(context)
            throw error
        }
        self.context = context
        self.clientVerification = clientVerification
        self.clientCheck = check
    }

    deinit {
        SSL_CTX_free(context)
    }

    /// A server stream over `transport` presenting `certificateChain` (leaf first) and `privateKey`.
    /// `alreadyRead`: bytes the proxy already took from the socket (the ClientHello its peek consumed).
    public func makeStream(transport: SocketChannel, certificateChain: [Certificate], privateKey: PrivateKey,
                           alreadyRead: [UInt8] = []) throws(OpenSSLError) -> TLSStream {
        try TLSStream(server: self, transport: transport, certificateChain: certificateChain, privateKey: privateKey,
                      alreadyRead: alreadyRead)
    }

    /// A new `SSL` for one client connection, presenting `chain` and `key`.
    func makeSSL(chain: [Certificate], key: PrivateKey) throws(OpenSSLError) -> OpaquePointer {
        OpenSSL.drainErrorQueue()
        guard let ssl = SSL_new(context) else { throw .drain("creating a client-facing TLS connection") }
        do throws(OpenSSLError) {
            try SSLSettings.use(chain: chain, key: key, on: ssl, operation: "the client-facing certificate")
        } catch {
            SSL_free(ssl)
            throw error
        }
        SSL_set_accept_state(ssl)
        return ssl
    }

    /// ALPN: http/1.1 when the client offers it; otherwise the handshake fails with no_application_protocol
    /// (OpenSSL sends that alert for SSL_TLSEXT_ERR_ALERT_FATAL). Not called when the client offers no ALPN.
    static let selectHTTP11: @convention(c) (OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?,
                                             UnsafeMutablePointer<UInt8>?, UnsafePointer<UInt8>?, UInt32,
                                             UnsafeMutableRawPointer?) -> Int32 = { _, out, outLength, offered, offeredLength, _ in
        guard let out, let outLength, let offered else { return SSL_TLSEXT_ERR_ALERT_FATAL }
        let wanted = Array("http/1.1".utf8)
        var index = 0
        let count = Int(offeredLength)
        // The offer is a list of length-prefixed names.
        while index < count {
            let length = Int(offered[index])
            let start = index + 1
            guard start + length <= count else { break }
            if length == wanted.count && (0..<length).allSatisfy({ offered[start + $0] == wanted[$0] }) {
                out.pointee = offered + start
                outLength.pointee = UInt8(length)
                return SSL_TLSEXT_ERR_OK
            }
            index = start + length
        }
        return SSL_TLSEXT_ERR_ALERT_FATAL
    }
}
