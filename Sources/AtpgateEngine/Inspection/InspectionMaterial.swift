import AtpgatePolicy
import AtpgateTLS

/// What the policy's `inspection:` section names, loaded: the CA that signs minted leaves, the client-facing
/// TLS context (which verifies the sensors' certificates), the upstream-facing one (trust), and the
/// certificates presented upstream on a verified client's behalf. Loaded off the I/O queues (at start and
/// by the reloader), then shared read-only by every loop.
///
/// Every file is read here and nowhere else; a file that cannot be used fails the whole load with
/// `file: reason`, so a reload with a broken certificate keeps the material (and policy) in force.
public final class InspectionMaterial: Sendable {
    /// One `client_certs` entry with its files loaded.
    struct UpstreamIdentity: Sendable {
        let mapping: ClientCertMapping
        /// Leaf first, then its chain: the whole chain is sent.
        let chain: [Certificate]
        let key: PrivateKey
    }

    let settings: InspectionSettings
    let ca: CertificateAuthority
    let server: TLSServerContext
    let client: TLSClientContext
    let identities: [UpstreamIdentity]

    init(settings: InspectionSettings, ca: CertificateAuthority, server: TLSServerContext, client: TLSClientContext,
         identities: [UpstreamIdentity]) {
        self.settings = settings
        self.ca = ca
        self.server = server
        self.client = client
        self.identities = identities
    }

    /// Loads every file `settings` names (OpenSSL 3.0+ checked first).
    public static func load(_ settings: InspectionSettings) throws(CertificateFileError) -> InspectionMaterial {
        do {
            try OpenSSL.requireSupportedVersion()
        } catch {
            throw CertificateFileError(path: "OpenSSL", reason: error.description)
        }
        let ca = try CertificateAuthority.load(certificate: settings.ca.certPath, key: settings.ca.keyPath)
        let clientCAs = try settings.clients.caPath.map { path throws(CertificateFileError) in try Certificate.chain(file: path) } ?? []
        let verification = ClientVerification(caCertificates: clientCAs, pins: settings.clients.pins,
                                              require: settings.clients.require)
        let server: TLSServerContext
        do {
            server = try TLSServerContext(clientVerification: verification)
        } catch {
            throw CertificateFileError(path: settings.clients.caPath ?? "inspection.clients", reason: error.description)
        }
        let trust: TLSClientContext.Trust
        switch settings.upstream.trust {
        case .system: trust = .system
        case .bundle(let path): trust = .bundle(try Certificate.chain(file: path))
        }
        let client: TLSClientContext
        do {
            client = try TLSClientContext(trust: trust)
        } catch {
            throw CertificateFileError(path: Self.trustSource(settings), reason: error.description)
        }
        var identities: [UpstreamIdentity] = []
        for mapping in settings.upstream.clientCerts {
            let chain = try Certificate.chain(file: mapping.certPath)
            let key = try PrivateKey.load(file: mapping.keyPath)
            guard key.matches(chain[0]) else {
                throw CertificateFileError(path: mapping.keyPath, reason: "the key does not belong to \(mapping.certPath)'s certificate")
            }
            identities.append(UpstreamIdentity(mapping: mapping, chain: chain, key: key))
        }
        return InspectionMaterial(settings: settings, ca: ca, server: server, client: client, identities: identities)
    }

    private static func trustSource(_ settings: InspectionSettings) -> String {
        if case .bundle(let path) = settings.upstream.trust { return path }
        return "inspection.upstream.trust"
    }

    /// The certificate to present upstream for a client whose certificate was VERIFIED (first matching
    /// `client_certs` entry), nil when none matches. Never called for an unverified client.
    func upstreamIdentity(forVerified client: Certificate) -> UpstreamIdentity? {
        let sans = client.subjectAltNames.map { name -> String in
            switch name {
            case .dns(let dns): return dns
            case .ip: return String(name.description.dropFirst(3))   // "IP:" cut: the address as text
            }
        }
        let sha256 = client.sha256
        return identities.first { $0.mapping.matches(subjectCN: client.subjectCommonName, sans: sans, sha256: sha256) }
    }
}
