#if canImport(Glibc)
import Glibc
#endif
import COpenSSL
import CAtpgateOpenSSL

/// An X.509 v3 certificate under construction (an owned `X509 *`, not yet signed), for the inspection CA
/// and minted leaves. Each step throws the OpenSSL error of the call that failed; `sign` hands the
/// finished certificate over. Used by one thread at a time, start to finish.
final class X509Builder {
    /// The certificate being built; nil once `sign` has handed it to a `Certificate`.
    private var x509: OpaquePointer?

    init() throws(OpenSSLError) {
        OpenSSL.drainErrorQueue()
        guard let x509 = X509_new() else { throw .drain("allocating a certificate") }
        self.x509 = x509
        guard X509_set_version(x509, Int(X509_VERSION_3)) == 1 else { throw .drain("setting the certificate version") }
    }

    deinit {
        if let x509 { X509_free(x509) }
    }

    /// The certificate under construction; only valid before `sign`.
    private var building: OpaquePointer {
        guard let x509 else { preconditionFailure("X509Builder used after sign") }
        return x509
    }

    // MARK: Fields

    /// A 16-byte serial from OpenSSL's CSPRNG. The top bit is cleared (a positive INTEGER needs no leading
    /// zero byte) and the next one set, so the DER value is always exactly 16 bytes and never zero: 126
    /// random bits, well over the CA/Browser Forum's 64.
    func setRandomSerial() throws(OpenSSLError) {
        var serial = [UInt8](repeating: 0, count: 16)
        guard RAND_bytes(&serial, Int32(serial.count)) == 1 else { throw .drain("drawing a random serial number") }
        serial[0] = serial[0] & 0x7F | 0x40
        guard ASN1_STRING_set(X509_get_serialNumber(building), serial, Int32(serial.count)) == 1 else {
            throw .drain("setting the serial number")
        }
    }

    /// notBefore and notAfter, in seconds since the epoch (UTCTime until 2049, GeneralizedTime after, as
    /// RFC 5280 wants).
    func setValidity(notBefore: Int64, notAfter: Int64) throws(OpenSSLError) {
        guard ASN1_TIME_set(X509_getm_notBefore(building), time_t(notBefore)) != nil,
              ASN1_TIME_set(X509_getm_notAfter(building), time_t(notAfter)) != nil else {
            throw .drain("setting the validity period")
        }
    }

    /// The subject: one commonName, or an empty name when `commonName` is nil (the subjectAltName then
    /// carries the identity and must be critical).
    func setSubject(commonName: String?) throws(OpenSSLError) {
        guard let commonName else { return }
        let added = X509_NAME_add_entry_by_NID(X509_get_subject_name(building), NID_commonName, MBSTRING_UTF8,
                                               commonName, -1, -1, 0)
        guard added == 1 else { throw .drain("setting the subject commonName") }
    }

    /// The issuer name: `issuer`'s subject, or this certificate's own subject when nil (self-signed).
    func setIssuer(_ issuer: Certificate?) throws(OpenSSLError) {
        let name = X509_get_subject_name(issuer?.x509 ?? building)
        guard X509_set_issuer_name(building, name) == 1 else { throw .drain("setting the issuer name") }
    }

    /// The public half of `key`.
    func setPublicKey(_ key: PrivateKey) throws(OpenSSLError) {
        guard X509_set_pubkey(building, key.pkey) == 1 else { throw .drain("setting the public key") }
    }

    /// The RFC 5280 method-1 key identifier of the public key set so far: SHA-1 of the subjectPublicKey
    /// bits. The same value OpenSSL's "subjectKeyIdentifier = hash" writes.
    func publicKeyIdentifier() throws(OpenSSLError) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard X509_pubkey_digest(building, EVP_sha1(), &digest, &length) == 1 else {
            throw .drain("hashing the public key")
        }
        return Array(digest.prefix(Int(length)))
    }

    // MARK: Extensions

    /// An extension in OpenSSL's configuration syntax, for fixed values ("critical,CA:FALSE").
    func addExtension(_ nid: Int32, _ value: String) throws(OpenSSLError) {
        guard atpgate_x509_add_conf_extension(building, nid, value) == 1 else {
            throw .drain("adding the \(String(cString: OBJ_nid2sn(nid))) extension")
        }
    }

    func addSubjectKeyIdentifier(_ identifier: [UInt8]) throws(OpenSSLError) {
        guard atpgate_x509_add_subject_key_id(building, identifier, Int32(identifier.count)) == 1 else {
            throw .drain("adding the subjectKeyIdentifier extension")
        }
    }

    /// An authorityKeyIdentifier naming the issuer by its key identifier only.
    func addAuthorityKeyIdentifier(_ identifier: [UInt8]) throws(OpenSSLError) {
        guard atpgate_x509_add_authority_key_id(building, identifier, Int32(identifier.count)) == 1 else {
            throw .drain("adding the authorityKeyIdentifier extension")
        }
    }

    /// A subjectAltName of one DNS name (ASCII) or IP address (4 or 16 bytes).
    func addSubjectAltName(_ name: SubjectAltName, critical: Bool) throws(OpenSSLError) {
        let (type, bytes): (Int32, [UInt8]) = switch name {
        case .dns(let text): (GEN_DNS, Array(text.utf8))
        case .ip(let address): (GEN_IPADD, address)
        }
        guard atpgate_x509_add_subject_alt_name(building, type, bytes, Int32(bytes.count), critical ? 1 : 0) == 1 else {
            throw .drain("adding the subjectAltName extension")
        }
    }

    /// A critical nameConstraints permitting `dnsNames` (and their subdomains) and excluding every IP address.
    func addDNSNameConstraints(_ dnsNames: [String]) throws(OpenSSLError) {
        // strdup'd C strings live until the call returns; the extension keeps its own copies.
        let cStrings = dnsNames.map { strdup($0) }
        defer { cStrings.forEach { free($0) } }
        let pointers: [UnsafePointer<CChar>?] = cStrings.map { $0.map { UnsafePointer($0) } }
        guard !pointers.contains(where: { $0 == nil }),
              atpgate_x509_add_dns_name_constraints(building, pointers, Int32(pointers.count), 1) == 1 else {
            throw .drain("adding the nameConstraints extension")
        }
    }

    // MARK: Signing

    /// Signs with `key` (SHA-256; Ed25519 and Ed448 keys sign without a separate digest) and returns the
    /// finished certificate. The builder is spent afterwards.
    func sign(with key: PrivateKey) throws(OpenSSLError) -> Certificate {
        let keyType = EVP_PKEY_get_id(key.pkey)
        let digest = keyType == EVP_PKEY_ED25519 || keyType == EVP_PKEY_ED448 ? nil : EVP_sha256()
        guard X509_sign(building, key.pkey, digest) > 0 else { throw .drain("signing the certificate") }
        let certificate = Certificate(taking: building)
        x509 = nil
        return certificate
    }
}
