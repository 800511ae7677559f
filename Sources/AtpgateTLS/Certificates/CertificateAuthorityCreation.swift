#if canImport(Glibc)
import Glibc
#endif
import COpenSSL

extension CertificateAuthority {
    /// A new self-signed inspection CA (`atpgate ca init`): a fresh P-256 key; an X.509 v3 certificate with a
    /// random 16-byte serial; basicConstraints critical CA:TRUE, pathlen:0 (it signs leaves, never other
    /// CAs); keyUsage critical keyCertSign, cRLSign; a subjectKeyIdentifier and an authorityKeyIdentifier
    /// (keyid). With `permittedDNS` (DNS names; a leading "." means subdomains only), a critical
    /// nameConstraints limits every certificate under the CA to those domains and excludes all IP addresses,
    /// so a stolen key cannot impersonate anything else to clients that enforce it. Valid from an hour
    /// before `now` for `validityDays` days.
    public static func create(commonName: String = "atpgate inspection CA", permittedDNS: [String] = [],
                              validityDays: Int = 3650, now: Int64 = Int64(time(nil))) throws(OpenSSLError)
        -> CertificateAuthority {
        guard (1...64).contains(commonName.utf8.count) else {
            throw OpenSSLError("creating the CA: its name must be 1 to 64 characters", reasons: [])
        }
        guard (1...maximumValidityDays).contains(validityDays) else {
            throw OpenSSLError("creating the CA: its validity must be 1 to \(maximumValidityDays) days", reasons: [])
        }
        try checkPermittedDNS(permittedDNS)
        let key = try PrivateKey.generateP256()
        let builder = try X509Builder()
        try builder.setRandomSerial()
        try builder.setValidity(notBefore: now - LeafMinter.backdating, notAfter: now + Int64(validityDays) * 86400)
        try builder.setSubject(commonName: commonName)
        try builder.setIssuer(nil)
        try builder.setPublicKey(key)
        try builder.addExtension(NID_basic_constraints, "critical,CA:TRUE,pathlen:0")
        try builder.addExtension(NID_key_usage, "critical,keyCertSign,cRLSign")
        let keyIdentifier = try builder.publicKeyIdentifier()
        try builder.addSubjectKeyIdentifier(keyIdentifier)
        try builder.addAuthorityKeyIdentifier(keyIdentifier)
        if !permittedDNS.isEmpty { try builder.addDNSNameConstraints(permittedDNS) }
        let certificate = try builder.sign(with: key)
        return CertificateAuthority(certificate: certificate, key: key, subjectKeyIdentifier: keyIdentifier)
    }

    /// A hundred years: beyond that a CA is a mistake, and GeneralizedTime stops at 9999 anyway.
    public static let maximumValidityDays = 36500

    /// Throws unless each entry is a DNS name, optionally with a leading "." (subdomains only), for a
    /// nameConstraints permitted subtree. `ca init` calls it to reject a bad `--permit` as a usage error.
    public static func checkPermittedDNS(_ names: [String]) throws(OpenSSLError) {
        for name in names {
            let domain = name.hasPrefix(".") ? name.dropFirst() : Substring(name)
            guard LeafHost.isDNSName(domain) else {
                throw OpenSSLError("'\(name)' is not a DNS name to permit (e.g. contoso.com or .contoso.com)", reasons: [])
            }
        }
    }
}
