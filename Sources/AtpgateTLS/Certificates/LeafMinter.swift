import COpenSSL

/// A leaf certificate minted for one host, its own key, and the chain to present.
public struct MintedLeaf: Sendable {
    public let certificate: Certificate
    /// The leaf's private key: fresh for every leaf, never written anywhere.
    public let key: PrivateKey
    /// The leaf, then the inspection CA: sending the CA lets clients that trust it as a root build the path
    /// without fetching anything.
    public let chain: [Certificate]
    /// Seconds since the epoch after which the leaf is no longer valid.
    public let notAfter: Int64
}

/// Mints the leaf certificates the inspector presents to clients, signed by the inspection CA. Pure
/// OpenSSL and CPU work (a P-256 key generation and one signature): no I/O, no shared state, so any
/// thread may mint. `LeafCache` keeps the results.
public enum LeafMinter {
    /// How long a leaf is valid: short, so a leaked leaf key ages out; the cache re-mints well before.
    public static let lifetime: Int64 = 30 * 86400
    /// How far notBefore lies before `now`: clients whose clocks run slow still accept a fresh leaf.
    public static let backdating: Int64 = 3600

    /// A leaf for `host` issued by `ca`, valid from an hour before `now` for 30 days, or until the CA
    /// expires when that comes first. Throws when the host cannot be named in a certificate, when the CA
    /// has expired, or when OpenSSL fails.
    public static func mint(for host: LeafHost, by ca: CertificateAuthority, now: Int64) throws(OpenSSLError) -> MintedLeaf {
        if let problem = host.problem { throw OpenSSLError("minting a leaf: \(problem)", reasons: []) }
        let notBefore = now - backdating
        let notAfter = min(notBefore + lifetime, ca.certificate.notAfter)
        guard notAfter > now else {
            throw OpenSSLError("minting a leaf for \(host): the inspection CA \(ca.certificate.subject) has expired", reasons: [])
        }
        let key = try PrivateKey.generateP256()
        let builder = try X509Builder()
        try builder.setRandomSerial()
        try builder.setValidity(notBefore: notBefore, notAfter: notAfter)
        // ub-common-name is 64: a longer host goes in the subjectAltName only, which then must be critical.
        let commonName = host.description.utf8.count <= 64 ? host.description : nil
        try builder.setSubject(commonName: commonName)
        try builder.setIssuer(ca.certificate)
        try builder.setPublicKey(key)
        try builder.addExtension(NID_basic_constraints, "critical,CA:FALSE")
        try builder.addExtension(NID_key_usage, "critical,digitalSignature")
        try builder.addExtension(NID_ext_key_usage, "serverAuth")
        // The leaf's own key identifier, never the CA's: Windows SChannel mishandles a leaf that carries its
        // issuer's subjectKeyIdentifier.
        try builder.addSubjectKeyIdentifier(try builder.publicKeyIdentifier())
        try builder.addAuthorityKeyIdentifier(ca.subjectKeyIdentifier)
        switch host {
        case .dns(let name): try builder.addSubjectAltName(.dns(name), critical: commonName == nil)
        case .ip(let bytes): try builder.addSubjectAltName(.ip(bytes), critical: commonName == nil)
        }
        let certificate = try builder.sign(with: ca.key)
        return MintedLeaf(certificate: certificate, key: key, chain: [certificate, ca.certificate], notAfter: notAfter)
    }
}
