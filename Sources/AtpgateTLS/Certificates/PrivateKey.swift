#if canImport(Glibc)
import Glibc
#endif
import COpenSSL
import CAtpgateOpenSSL

/// A private key (an OpenSSL `EVP_PKEY`, owned). Immutable once made; OpenSSL allows concurrent use of
/// an `EVP_PKEY` for signing, so it may be shared by every loop (hence `@unchecked Sendable`).
public final class PrivateKey: @unchecked Sendable {
    /// The `EVP_PKEY *`; this object holds one reference.
    public let pkey: OpaquePointer

    public init(taking pkey: OpaquePointer) {
        self.pkey = pkey
    }

    deinit {
        EVP_PKEY_free(pkey)
    }

    /// A fresh P-256 key from OpenSSL's CSPRNG (minted leaves, `ca init`).
    public static func generateP256() throws(OpenSSLError) -> PrivateKey {
        OpenSSL.drainErrorQueue()
        guard let pkey = atpgate_generate_p256_key() else { throw .drain("generating a P-256 key") }
        return PrivateKey(taking: pkey)
    }

    /// A PEM private key (PKCS#8, or the traditional EC/RSA forms), unencrypted.
    public static func load(pem: [UInt8], source: String) throws(CertificateFileError) -> PrivateKey {
        OpenSSL.drainErrorQueue()
        let bio = pem.withUnsafeBytes { BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }
        guard let bio else { throw CertificateFileError(path: source, reason: "out of memory") }
        defer { BIO_free(bio) }
        // No passphrase callback: an encrypted key fails here rather than prompting a service for input.
        guard let pkey = PEM_read_bio_PrivateKey(bio, nil, { _, _, _, _ in -1 }, nil) else {
            let reasons = OpenSSL.drainErrorQueue()
            throw CertificateFileError(path: source, reason: reasons.isEmpty ? "no PEM private key found"
                                       : "no usable PEM private key (\(reasons.joined(separator: "; ")))")
        }
        return PrivateKey(taking: pkey)
    }

    /// A key file, which must be readable by its owner only (mode 0600 or 0400): a key others can read is
    /// refused with the reason rather than used.
    public static func load(file path: String) throws(CertificateFileError) -> PrivateKey {
        try checkOwnerOnly(path)
        return try load(pem: try Certificate.readFile(path), source: path)
    }

    /// The file's group and other permission bits must all be clear.
    public static func checkOwnerOnly(_ path: String) throws(CertificateFileError) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw CertificateFileError(path: path, reason: String(cString: strerror(errno)))
        }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw CertificateFileError(path: path, reason: "a private key must be readable by its owner only, but its mode is "
                                       + "0\(String(mode, radix: 8)) (chmod 600 it)")
        }
    }

    /// PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), for `ca init`. Secret: never logged.
    public var pem: String {
        guard let bio = BIO_new(BIO_s_mem()) else { return "" }
        defer { BIO_free(bio) }
        PEM_write_bio_PrivateKey(bio, pkey, nil, nil, 0, nil, nil)
        return Certificate.text(of: bio)
    }

    /// Whether `certificate` carries this key's public half.
    public func matches(_ certificate: Certificate) -> Bool {
        X509_check_private_key(certificate.x509, pkey) == 1
    }
}
