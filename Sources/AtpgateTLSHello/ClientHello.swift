/// What a TLS ClientHello offers, as far as a proxy that does not decrypt needs to know (the SNI check
/// and the access log's `tls` object, issue 10). Parsed from the plaintext handshake by
/// `ClientHelloParser`; GREASE values (RFC 8701: 0x0A0A, 0x1A1A, … 0xFAFA) are left out of every list.
public struct ClientHello: Sendable, Equatable {
    /// `legacy_version` of the ClientHello body (0x0303 for TLS 1.2 and 1.3 clients).
    public var legacyVersion: UInt16
    /// Cipher suites in the order offered.
    public var cipherSuites: [UInt16]
    /// Extension types in the order they appear.
    public var extensions: [UInt16]
    /// The `host_name` entry of server_name (0x0000), as its raw bytes; nil when the extension is absent
    /// or has no host_name entry. Not validated here: the caller normalises it like a CONNECT host.
    public var serverName: [UInt8]?
    /// ALPN protocol names (0x0010) in order, raw bytes.
    public var alpn: [[UInt8]]
    /// supported_versions (0x002b) in order; empty when the extension is absent.
    public var supportedVersions: [UInt16]
    /// signature_algorithms (0x000d) in order.
    public var signatureAlgorithms: [UInt16]
    /// An encrypted_client_hello extension (0xfe0d) is present (its content is not parsed).
    public var hasECH: Bool

    public init(legacyVersion: UInt16, cipherSuites: [UInt16], extensions: [UInt16], serverName: [UInt8]?,
                alpn: [[UInt8]], supportedVersions: [UInt16], signatureAlgorithms: [UInt16], hasECH: Bool) {
        self.legacyVersion = legacyVersion
        self.cipherSuites = cipherSuites
        self.extensions = extensions
        self.serverName = serverName
        self.alpn = alpn
        self.supportedVersions = supportedVersions
        self.signatureAlgorithms = signatureAlgorithms
        self.hasECH = hasECH
    }

    /// RFC 8701 GREASE: both bytes equal and of the form 0x?A.
    public static func isGrease(_ value: UInt16) -> Bool {
        value & 0x0F0F == 0x0A0A && value >> 8 == value & 0xFF
    }

    /// The versions offered, highest first, for the log: supported_versions when present, else the
    /// legacy version. "1.3", "1.2", "1.1", "1.0", "ssl3", or hex for anything else.
    public var offeredVersions: [String] {
        let versions = supportedVersions.isEmpty ? [legacyVersion] : supportedVersions
        return versions.sorted(by: >).map(Self.versionName)
    }

    public static func versionName(_ version: UInt16) -> String {
        switch version {
        case 0x0304: return "1.3"
        case 0x0303: return "1.2"
        case 0x0302: return "1.1"
        case 0x0301: return "1.0"
        case 0x0300: return "ssl3"
        default:
            let hex = String(version, radix: 16)
            return "0x" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        }
    }
}
