import COpenSSL

/// What a completed handshake settled, for the connection and its log.
public struct TLSHandshakeInfo: Sendable {
    /// "TLSv1.3", "TLSv1.2".
    public let protocolVersion: String
    /// OpenSSL's name of the cipher suite, e.g. "TLS_AES_256_GCM_SHA384".
    public let cipher: String
    /// The application protocol ALPN settled on; nil when none was negotiated.
    public let alpn: String?
    /// The peer's leaf certificate: on a server stream the client's (nil when it sent none), on a client
    /// stream the server's.
    public let peerCertificate: Certificate?
    /// The peer's certificate verified: against the trust store and host name (client side); against
    /// `ClientVerification`'s CAs, or matching one of its pins (server side). False without a certificate.
    public let peerVerified: Bool

    public init(protocolVersion: String, cipher: String, alpn: String?, peerCertificate: Certificate?, peerVerified: Bool) {
        self.protocolVersion = protocolVersion
        self.cipher = cipher
        self.alpn = alpn
        self.peerCertificate = peerCertificate
        self.peerVerified = peerVerified
    }

    /// The peer certificate's subject in RFC 2253 form, for the log.
    public var peerSubject: String? { peerCertificate?.subject }
    /// SHA-256 (hex) of the peer certificate's DER, for the log.
    public var peerSHA256: String? { peerCertificate?.sha256Hex }

    /// Reads what `ssl` negotiated; call once its handshake has completed.
    init(completed ssl: OpaquePointer) {
        protocolVersion = String(cString: SSL_get_version(ssl))
        cipher = SSL_get_current_cipher(ssl).map { String(cString: SSL_CIPHER_get_name($0)) } ?? ""
        var selected: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &selected, &length)
        if let selected, length > 0 {
            alpn = String(decoding: UnsafeBufferPointer(start: selected, count: Int(length)), as: UTF8.self)
        } else {
            alpn = nil
        }
        peerCertificate = SSL_get1_peer_certificate(ssl).map { Certificate(taking: $0) }
        // A verify result is kept even when the handshake went on without it (`require: false`).
        peerVerified = peerCertificate != nil && SSL_get_verify_result(ssl) == X509_V_OK
    }
}
