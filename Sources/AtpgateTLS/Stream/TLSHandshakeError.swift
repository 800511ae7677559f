import AtpgateIO

/// Why a TLS handshake failed; after the handshake, why the stream failed (`TLSStream.lastFailure`).
/// Each has a one-line `description` for the access log.
public enum TLSHandshakeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The peer sent a fatal alert: its code and RFC name ("certificate_required", "unknown_ca"). This is
    /// also how a TLS 1.3 server refusing our client certificate shows up, on the first read after a
    /// handshake that completed on our side.
    case peerAlert(code: UInt8, description: String)
    /// The peer's certificate did not verify: `X509_verify_cert_error_string` of the result, e.g.
    /// "unable to get local issuer certificate", "hostname mismatch".
    case certificateVerifyFailed(String)
    /// A client certificate is required and the client sent none.
    case noClientCertificate
    /// The client offered ALPN without http/1.1 (it was sent no_application_protocol).
    case noSharedALPN
    /// The peer closed the connection (TCP end of stream) before the handshake completed.
    case peerClosed
    /// The socket failed (a reset, a broken pipe).
    case transport(SocketError)
    /// Any other failure: OpenSSL's reason strings ("wrong version number", "http request"), joined by "; ".
    case protocolError(String)

    public var description: String {
        switch self {
        case .peerAlert(let code, let name): return "the peer sent alert \(name) (\(code))"
        case .certificateVerifyFailed(let reason): return "certificate verify failed: \(reason)"
        case .noClientCertificate: return "no client certificate"
        case .noSharedALPN: return "no shared application protocol (http/1.1 not offered)"
        case .peerClosed: return "the peer closed the connection during the handshake"
        case .transport(let error): return error.description
        case .protocolError(let reasons): return reasons
        }
    }
}
