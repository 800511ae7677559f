import AtpgateNet

/// The policy's `inspection:` section (issue 11) as pure values: which CONNECT targets the proxy
/// terminates TLS for, the CA that signs the leaves it mints for them, how the downstream client (the
/// sensor) must authenticate, and how the proxy authenticates upstream on the client's behalf.
///
/// The loader checks shapes only: paths are non-empty strings resolved against the policy file's folder
/// (absolute paths stay), and no certificate or key file is opened here. The engine loads and watches
/// them (`allFiles`).
public struct InspectionSettings: Sendable, Equatable {
    /// A certificate (PEM, leaf first, then its chain) and its private key.
    public struct KeyPair: Sendable, Equatable {
        public let certPath: String
        public let keyPath: String

        public init(certPath: String, keyPath: String) {
            self.certPath = certPath
            self.keyPath = keyPath
        }
    }

    /// `inspection.clients`: how the downstream client's certificate is verified.
    public struct ClientVerification: Sendable, Equatable {
        /// PEM bundle of the CAs a client certificate may chain to; nil when only pins are used.
        public let caPath: String?
        /// SHA-256 digests (32 bytes each) of accepted client certificates (the DER encoding).
        public let pins: [[UInt8]]
        /// Whether a client must present a certificate that verifies (against `caPath` or a pin); the
        /// default. With false a client without one is still served, but never with an upstream client
        /// certificate (the loader refuses `require: false` together with `upstream.client_certs`).
        public let require: Bool

        public init(caPath: String? = nil, pins: [[UInt8]] = [], require: Bool = true) {
            self.caPath = caPath
            self.pins = pins
            self.require = require
        }
    }

    /// `inspection.upstream.trust`: what the upstream server's certificate must chain to.
    public enum UpstreamTrust: Sendable, Equatable {
        /// The system's trust store (OpenSSL's default paths).
        case system
        /// A PEM bundle, path resolved against the policy's folder.
        case bundle(String)
    }

    /// `inspection.upstream`.
    public struct Upstream: Sendable, Equatable {
        public let trust: UpstreamTrust
        /// Certificates presented upstream on behalf of a verified client; first match wins, `default` last.
        public let clientCerts: [ClientCertMapping]

        public init(trust: UpstreamTrust = .system, clientCerts: [ClientCertMapping] = []) {
            self.trust = trust
            self.clientCerts = clientCerts
        }
    }

    /// The inspected hosts, `{instance}` expanded, in the order written.
    public let hosts: [InspectedHost]
    /// Signs the leaves minted for inspected hosts.
    public let ca: KeyPair
    public let clients: ClientVerification
    public let upstream: Upstream
    /// Line of the `inspection` key in the policy file.
    public let sourceLine: Int

    public init(hosts: [InspectedHost], ca: KeyPair, clients: ClientVerification = ClientVerification(),
                upstream: Upstream = Upstream(), sourceLine: Int = 0) {
        self.hosts = hosts
        self.ca = ca
        self.clients = clients
        self.upstream = upstream
        self.sourceLine = sourceLine
    }

    /// Whether `host` is one of `hosts` (an exact name, a name below a `*.suffix`, or an address).
    /// Which ports of it are inspected is the policy's to say: `Policy.inspects(host:port:)`.
    public func covers(_ host: Host) -> Bool {
        hosts.contains { $0.matches(host) }
    }

    /// The upstream client certificate for a downstream client, by the first `client_certs` entry that
    /// matches (`ClientCertMapping.matches`), or nil when none does. It does not know whether the client's
    /// certificate was verified: the caller asks only for a verified client, never for an unauthenticated one.
    public func clientCertificate(forSubjectCN subjectCN: String?, sans: [String], sha256: [UInt8]) -> ClientCertMapping? {
        upstream.clientCerts.first { $0.matches(subjectCN: subjectCN, sans: sans, sha256: sha256) }
    }

    /// Every certificate, key and CA file the section names, each once, in the order written: what the
    /// engine loads and watches (a change to one must reload the inspector).
    public var allFiles: [String] {
        var files = [ca.certPath, ca.keyPath]
        if let caPath = clients.caPath { files.append(caPath) }
        if case .bundle(let path) = upstream.trust { files.append(path) }
        for mapping in upstream.clientCerts { files += [mapping.certPath, mapping.keyPath] }
        var seen = Set<String>()
        return files.filter { seen.insert($0).inserted }
    }
}
