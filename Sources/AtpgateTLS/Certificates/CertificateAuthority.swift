import COpenSSL

/// The inspection CA: the operator's CA certificate and its private key, which sign the leaves the
/// inspector presents to clients. Made by `load` (the files of `atpgate ca init` or the operator's own)
/// or `create`.
///
/// Immutable once made, and its `Certificate` and `PrivateKey` are themselves safe to share (OpenSSL allows
/// concurrent read-only use of an `X509` and concurrent signing with an `EVP_PKEY`): every loop may mint
/// with the same CA at once, hence `@unchecked Sendable`.
public final class CertificateAuthority: @unchecked Sendable {
    /// The CA certificate (sent after each leaf).
    public let certificate: Certificate
    /// The CA's private key. Secret: never logged or printed.
    public let key: PrivateKey
    /// SHA-256 of the CA certificate in hex: the CA part of a cached leaf's key, so a new CA never serves a
    /// leaf signed by the old one.
    public let identity: String
    /// The CA's subjectKeyIdentifier, which each leaf's authorityKeyIdentifier repeats.
    public let subjectKeyIdentifier: [UInt8]

    /// A CA from parts already checked: `certificate` has a subjectKeyIdentifier and `key` matches it.
    init(certificate: Certificate, key: PrivateKey, subjectKeyIdentifier: [UInt8]) {
        self.certificate = certificate
        self.key = key
        self.identity = certificate.sha256Hex
        self.subjectKeyIdentifier = subjectKeyIdentifier
    }

    /// The CA from a certificate file (its first certificate is the CA) and a key file (owner-only, as
    /// `PrivateKey.load(file:)` requires). The certificate must be a CA (basicConstraints CA:TRUE), may sign
    /// certificates (keyCertSign, when it has a keyUsage at all), and have a subjectKeyIdentifier; the key
    /// must be its key. Each failure names the file at fault and why.
    public static func load(certificate certificatePath: String, key keyPath: String) throws(CertificateFileError)
        -> CertificateAuthority {
        let certificate = try Certificate.chain(file: certificatePath)[0]
        let subjectKeyIdentifier: [UInt8]
        do {
            subjectKeyIdentifier = try issuingProperties(of: certificate)
        } catch {
            throw CertificateFileError(path: certificatePath, reason: error.reason)
        }
        let key = try PrivateKey.load(file: keyPath)
        guard key.matches(certificate) else {
            // X509_check_private_key queues the mismatch; the reason below says it plainly.
            OpenSSL.drainErrorQueue()
            throw CertificateFileError(path: keyPath, reason: "not the private key of the CA certificate in \(certificatePath)")
        }
        return CertificateAuthority(certificate: certificate, key: key, subjectKeyIdentifier: subjectKeyIdentifier)
    }

    /// Why a certificate cannot issue leaves.
    struct NotAnIssuer: Error {
        let reason: String
    }

    /// The subjectKeyIdentifier of `certificate` when it may issue leaves.
    static func issuingProperties(of certificate: Certificate) throws(NotAnIssuer) -> [UInt8] {
        // Reading the flags makes OpenSSL parse (and cache) the extensions; EXFLAG_INVALID marks bad ones.
        let flags = X509_get_extension_flags(certificate.x509)
        guard flags & UInt32(EXFLAG_INVALID) == 0 else {
            OpenSSL.drainErrorQueue()
            throw NotAnIssuer(reason: "the certificate has malformed extensions")
        }
        guard flags & UInt32(EXFLAG_CA) != 0 else {
            throw NotAnIssuer(reason: "not a CA certificate (it lacks basicConstraints CA:TRUE)")
        }
        if flags & UInt32(EXFLAG_KUSAGE) != 0 && X509_get_key_usage(certificate.x509) & UInt32(KU_KEY_CERT_SIGN) == 0 {
            throw NotAnIssuer(reason: "the CA certificate's keyUsage lacks keyCertSign, so it may not sign certificates")
        }
        guard let identifier = X509_get0_subject_key_id(certificate.x509), ASN1_STRING_length(identifier) > 0 else {
            throw NotAnIssuer(reason: "the CA certificate has no subjectKeyIdentifier (each minted leaf names its issuer by it)")
        }
        return Array(UnsafeBufferPointer(start: ASN1_STRING_get0_data(identifier), count: Int(ASN1_STRING_length(identifier))))
    }
}
