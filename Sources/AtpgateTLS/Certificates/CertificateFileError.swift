/// A certificate or key file that could not be used, as operators read it: `file: reason`. Loading
/// fails with it at start; on a reload it is logged and the certificates in force stay.
public struct CertificateFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public let path: String
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}
