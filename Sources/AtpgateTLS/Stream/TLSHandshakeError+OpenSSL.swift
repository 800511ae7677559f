import COpenSSL
import CAtpgateOpenSSL

extension TLSHandshakeError {
    /// The failure an `SSL_*` call on `ssl` just reported (`SSL_get_error` gave `sslError`: SSL_ERROR_SSL or
    /// SSL_ERROR_SYSCALL), read from this thread's error queue, which is left empty. Each entry is looked
    /// at oldest first; the first that names a known cause wins, else OpenSSL's reasons are kept as text.
    static func drained(from ssl: OpaquePointer, sslError: Int32) -> TLSHandshakeError {
        var codes: [UInt] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            codes.append(code)
        }
        for code in codes where atpgate_err_get_lib(code) == ERR_LIB_SSL {
            let reason = atpgate_err_get_reason(code)
            switch reason {
            case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
                return .noClientCertificate
            case SSL_R_CERTIFICATE_VERIFY_FAILED:
                return .certificateVerifyFailed(String(cString: X509_verify_cert_error_string(SSL_get_verify_result(ssl))))
            case SSL_R_NO_APPLICATION_PROTOCOL:
                return .noSharedALPN
            // A received alert is queued as SSL_AD_REASON_OFFSET + its description.
            case SSL_AD_REASON_OFFSET..<(SSL_AD_REASON_OFFSET + 256):
                let alert = UInt8(reason - SSL_AD_REASON_OFFSET)
                return .peerAlert(code: alert, description: TLSAlertName.of(alert))
            default:
                continue
            }
        }
        let reasons = codes.map { code in ERR_reason_error_string(code).map { String(cString: $0) } ?? "error \(code)" }
        if reasons.isEmpty {
            return .protocolError(sslError == SSL_ERROR_SYSCALL ? "TLS failure without a reason (SSL_ERROR_SYSCALL)"
                                  : "TLS failure without a reason (SSL error \(sslError))")
        }
        return .protocolError(reasons.joined(separator: "; "))
    }
}
