#if canImport(Glibc)
import Glibc
#endif
import COpenSSL
import CAtpgateOpenSSL

/// One X.509 certificate (an OpenSSL `X509`, owned). Immutable once made: OpenSSL allows concurrent
/// read-only use of an `X509`, so a certificate may be shared by every loop (hence `@unchecked Sendable`).
public final class Certificate: @unchecked Sendable {
    /// The `X509 *`; this object holds one reference.
    public let x509: OpaquePointer

    /// Takes over one reference to `x509`.
    public init(taking x509: OpaquePointer) {
        self.x509 = x509
    }

    /// Adds a reference to `x509` (one the caller keeps).
    public convenience init(borrowing x509: OpaquePointer) {
        X509_up_ref(x509)
        self.init(taking: x509)
    }

    deinit {
        X509_free(x509)
    }

    // MARK: Loading

    /// Every certificate in PEM text, in order (a leaf and its chain); at least one.
    public static func chain(pem: [UInt8], source: String) throws(CertificateFileError) -> [Certificate] {
        OpenSSL.drainErrorQueue()
        let bio = pem.withUnsafeBytes { BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }
        guard let bio else { throw CertificateFileError(path: source, reason: "out of memory") }
        defer { BIO_free(bio) }
        var certificates: [Certificate] = []
        while let x509 = PEM_read_bio_X509(bio, nil, nil, nil) {
            certificates.append(Certificate(taking: x509))
        }
        // The loop ends with "no start line" after the last certificate: expected once some were read.
        let reasons = OpenSSL.drainErrorQueue()
        guard !certificates.isEmpty else {
            throw CertificateFileError(path: source, reason: reasons.isEmpty ? "no PEM certificate found"
                                       : "no PEM certificate found (\(reasons.joined(separator: "; ")))")
        }
        return certificates
    }

    /// The certificates of a PEM file (leaf first, then its chain).
    public static func chain(file path: String) throws(CertificateFileError) -> [Certificate] {
        try chain(pem: try readFile(path), source: path)
    }

    // MARK: Encodings

    /// DER encoding.
    public var der: [UInt8] {
        let length = i2d_X509(x509, nil)
        guard length > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: Int(length))
        bytes.withUnsafeMutableBufferPointer { buffer in
            var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            _ = i2d_X509(x509, &cursor)
        }
        return bytes
    }

    /// PEM encoding ("-----BEGIN CERTIFICATE-----" …).
    public var pem: String {
        guard let bio = BIO_new(BIO_s_mem()) else { return "" }
        defer { BIO_free(bio) }
        PEM_write_bio_X509(bio, x509)
        return Self.text(of: bio)
    }

    /// SHA-256 of the DER encoding: what `clients.pins` and `client_certs` `sha256` match.
    public var sha256: [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 32
        X509_digest(x509, EVP_sha256(), &digest, &length)
        return Array(digest.prefix(Int(length)))
    }

    /// `sha256` as 64 lower-case hex digits.
    public var sha256Hex: String {
        sha256.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    // MARK: Names

    /// The subject in RFC 2253 form, e.g. "CN=DC01.contoso.com,O=Contoso" (for the log).
    public var subject: String { Self.name(X509_get_subject_name(x509)) }

    /// The issuer in RFC 2253 form.
    public var issuer: String { Self.name(X509_get_issuer_name(x509)) }

    /// The subject's first commonName, if any.
    public var subjectCommonName: String? {
        guard let name = X509_get_subject_name(x509) else { return nil }
        let index = X509_NAME_get_index_by_NID(name, NID_commonName, -1)
        guard index >= 0, let entry = X509_NAME_get_entry(name, index),
              let data = X509_NAME_ENTRY_get_data(entry) else { return nil }
        var utf8: UnsafeMutablePointer<UInt8>?
        let length = ASN1_STRING_to_UTF8(&utf8, data)
        guard length >= 0, let utf8 else { return nil }
        defer { atpgate_openssl_free(utf8) }
        return String(decoding: UnsafeBufferPointer(start: utf8, count: Int(length)), as: UTF8.self)
    }

    /// subjectAltName entries: DNS names and IP addresses (as text), in order.
    public var subjectAltNames: [SubjectAltName] {
        guard let raw = X509_get_ext_d2i(x509, NID_subject_alt_name, nil, nil) else { return [] }
        let names = OpaquePointer(raw)
        defer { GENERAL_NAMES_free(names) }
        var result: [SubjectAltName] = []
        for index in 0..<atpgate_sk_GENERAL_NAME_num(names) {
            guard let entry = atpgate_sk_GENERAL_NAME_value(names, index) else { continue }
            var kind: Int32 = 0
            guard let value = GENERAL_NAME_get0_value(entry, &kind) else { continue }
            let string = UnsafePointer(value.assumingMemoryBound(to: ASN1_STRING.self))
            let bytes = Array(UnsafeBufferPointer(start: ASN1_STRING_get0_data(string), count: Int(ASN1_STRING_length(string))))
            switch kind {
            case GEN_DNS: result.append(.dns(String(decoding: bytes, as: UTF8.self)))
            case GEN_IPADD: result.append(.ip(bytes))
            default: continue
            }
        }
        return result
    }

    // MARK: Validity

    /// Seconds since the epoch of notBefore and notAfter.
    public var notBefore: Int64 { Self.epochSeconds(X509_get0_notBefore(x509)) }
    public var notAfter: Int64 { Self.epochSeconds(X509_get0_notAfter(x509)) }

    /// basicConstraints CA:TRUE.
    public var isCA: Bool { X509_check_ca(x509) != 0 }

    // MARK: Helpers

    static func name(_ name: OpaquePointer?) -> String {
        guard let name, let bio = BIO_new(BIO_s_mem()) else { return "" }
        defer { BIO_free(bio) }
        X509_NAME_print_ex(bio, name, 0, atpgate_xn_flag_rfc2253())
        return text(of: bio)
    }

    static func text(of bio: OpaquePointer) -> String {
        var data: UnsafeMutablePointer<CChar>?
        let length = atpgate_bio_get_mem_data(bio, &data)
        guard length > 0, let data else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    }

    static func epochSeconds(_ time: UnsafePointer<ASN1_TIME>?) -> Int64 {
        guard let time else { return 0 }
        var moment = tm()
        guard ASN1_TIME_to_tm(time, &moment) == 1 else { return 0 }
        return Int64(timegm(&moment))
    }

    /// A whole file's bytes, or the reason it could not be read.
    static func readFile(_ path: String) throws(CertificateFileError) -> [UInt8] {
        guard let file = fopen(path, "rb") else {
            throw CertificateFileError(path: path, reason: String(cString: strerror(errno)))
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count > 0 { bytes.append(contentsOf: chunk[0..<count]) }
            if count < chunk.count { break }
            guard bytes.count <= 1 << 20 else { throw CertificateFileError(path: path, reason: "larger than 1 MiB") }
        }
        if ferror(file) != 0 { throw CertificateFileError(path: path, reason: String(cString: strerror(errno))) }
        return bytes
    }
}

/// One subjectAltName entry the proxy uses.
public enum SubjectAltName: Sendable, Equatable, CustomStringConvertible {
    case dns(String)
    /// 4 or 16 bytes.
    case ip([UInt8])

    public var description: String {
        switch self {
        case .dns(let name): return "DNS:\(name)"
        case .ip(let bytes) where bytes.count == 4: return "IP:" + bytes.map(String.init).joined(separator: ".")
        case .ip(let bytes): return "IP:" + stride(from: 0, to: bytes.count, by: 2).map {
            String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }.joined(separator: ":")
        }
    }
}
