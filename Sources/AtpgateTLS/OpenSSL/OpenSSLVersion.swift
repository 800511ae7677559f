import COpenSSL
import CAtpgateOpenSSL

extension OpenSSL {
    /// The loaded library's version number (OPENSSL_VERSION_NUMBER layout: 0xMNN00PP0L).
    public static var versionNumber: UInt { UInt(atpgate_openssl_version_number()) }

    /// The loaded library's version text, e.g. "OpenSSL 3.0.19 27 Jan 2026".
    public static var versionText: String { String(cString: OpenSSL_version(OPENSSL_VERSION)) }

    /// The oldest library the inspector accepts: 3.0 (the EVP and provider APIs it uses; 1.1.1 is out of
    /// support).
    public static let minimumVersionNumber: UInt = 0x3000_0000

    /// Checked when inspection is configured (`atpgate run`, `check`): the library loaded at run time
    /// must be 3.0 or newer, whatever the headers were.
    public static func requireSupportedVersion() throws(OpenSSLError) {
        guard versionNumber >= minimumVersionNumber else {
            throw OpenSSLError("OpenSSL 3.0 or newer is needed for TLS inspection; loaded: \(versionText)", reasons: [])
        }
    }
}
